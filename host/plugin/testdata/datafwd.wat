;; Route on /…/:op/:wf/:id that forwards its POST body to one of the mastra
;; workflow and thread functions, chosen by the first byte of :op:
;;   s workflow_start(wf, body)      r workflow_resume(wf, id, body)
;;   g workflow_run(wf, id)          t threads_list(body)
;;   m thread_messages(id, body)
;; It answers the result (or error text) as the body; the status is 200 for
;; errno 0, else 400 + errno (444 ENOENT, 463 EPERM, 428 EINVAL, 410 EBUSY).
(module
  (import "http_handler" "read_body" (func $rb (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $wb (param i32 i32 i32)))
  (import "http_handler" "set_status_code" (func $status (param i32)))
  (import "mastra" "route_param" (func $rp (param i32 i32 i32 i32) (result i64)))
  (import "mastra" "workflow_start" (func $ws (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "mastra" "workflow_resume" (func $wr (param i32 i32 i32 i32 i32 i32 i32 i32) (result i64)))
  (import "mastra" "workflow_run" (func $wg (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "mastra" "threads_list" (func $tl (param i32 i32 i32 i32) (result i64)))
  (import "mastra" "thread_messages" (func $tm (param i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 2 2)
  (data (i32.const 1024) "op")
  (data (i32.const 1028) "wf")
  (data (i32.const 1032) "id")
  (func (export "handle_request") (result i64)
    (local $op i32) (local $wf i32) (local $id i32) (local $n i32) (local $r i64) (local $errno i32) (local $len i32)
    (call $rp (i32.const 1024) (i32.const 2) (i32.const 2048) (i32.const 16)) (drop)
    (local.set $op (i32.load8_u (i32.const 2048)))
    (local.set $wf (i32.wrap_i64 (call $rp (i32.const 1028) (i32.const 2) (i32.const 2064) (i32.const 128))))
    (local.set $id (i32.wrap_i64 (call $rp (i32.const 1032) (i32.const 2) (i32.const 2200) (i32.const 256))))
    (local.set $n (i32.wrap_i64 (call $rb (i32.const 0) (i32.const 4096) (i32.const 8192))))
    (if (i32.eq (local.get $op) (i32.const 115)) ;; s
      (then (local.set $r (call $ws (i32.const 2064) (local.get $wf) (i32.const 4096) (local.get $n)
        (i32.const 16384) (i32.const 32768)))))
    (if (i32.eq (local.get $op) (i32.const 114)) ;; r
      (then (local.set $r (call $wr (i32.const 2064) (local.get $wf) (i32.const 2200) (local.get $id)
        (i32.const 4096) (local.get $n) (i32.const 16384) (i32.const 32768)))))
    (if (i32.eq (local.get $op) (i32.const 103)) ;; g
      (then (local.set $r (call $wg (i32.const 2064) (local.get $wf) (i32.const 2200) (local.get $id)
        (i32.const 16384) (i32.const 32768)))))
    (if (i32.eq (local.get $op) (i32.const 116)) ;; t
      (then (local.set $r (call $tl (i32.const 4096) (local.get $n) (i32.const 16384) (i32.const 32768)))))
    (if (i32.eq (local.get $op) (i32.const 109)) ;; m
      (then (local.set $r (call $tm (i32.const 2200) (local.get $id) (i32.const 4096) (local.get $n)
        (i32.const 16384) (i32.const 32768)))))
    (local.set $errno (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))))
    (local.set $len (i32.wrap_i64 (local.get $r)))
    (if (i32.gt_u (local.get $len) (i32.const 32768)) (then (local.set $len (i32.const 0))))
    (if (local.get $errno) (then (call $status (i32.add (i32.const 400) (local.get $errno)))))
    (call $wb (i32.const 1) (i32.const 16384) (local.get $len))
    (i64.const 0)))
