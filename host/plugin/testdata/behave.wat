;; Misbehaving route, by the first letter of the path:
;;   /trap  -> sets response header x-leak: 1, then unreachable
;;   /partial -> writes "partial" to the body, then unreachable
;;   /loop  -> spins forever
;;   /grow  -> grows memory by 64 pages (4 MiB); traps if that fails
;;   /Grow  -> grows memory by 12 pages (within a 1 MiB cap)
;;   other  -> "ok <n>", n counting the requests this instance served
(module
  (import "http_handler" "get_uri" (func $get_uri (param i32 i32) (result i32)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (import "http_handler" "set_header_value" (func $set_header (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ok ")
  (data (i32.const 8) "x-leak")
  (data (i32.const 16) "1")
  (data (i32.const 24) "partial")
  (global $count (mut i32) (i32.const 0))
  (func $itoa (param $v i32) (param $end i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $end))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $l (local.get $v)))
    (local.get $p))
  (func (export "handle_request") (result i64)
    (local $c i32) (local $p i32)
    (drop (call $get_uri (i32.const 1024) (i32.const 256)))
    (local.set $c (i32.load8_u (i32.const 1025)))
    (if (i32.eq (local.get $c) (i32.const 116)) ;; t
      (then
        (call $set_header (i32.const 1) (i32.const 8) (i32.const 6) (i32.const 16) (i32.const 1))
        unreachable))
    (if (i32.eq (local.get $c) (i32.const 112)) ;; p
      (then
        (call $write_body (i32.const 1) (i32.const 24) (i32.const 7))
        unreachable))
    (if (i32.eq (local.get $c) (i32.const 108)) ;; l
      (then (loop $spin (br $spin))))
    (if (i32.eq (local.get $c) (i32.const 103)) ;; g
      (then (if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then unreachable))))
    (if (i32.eq (local.get $c) (i32.const 71)) ;; G
      (then (if (i32.eq (memory.grow (i32.const 12)) (i32.const -1)) (then unreachable))))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (call $write_body (i32.const 1) (i32.const 0) (i32.const 3))
    (local.set $p (call $itoa (global.get $count) (i32.const 600)))
    (call $write_body (i32.const 1) (local.get $p) (i32.sub (i32.const 600) (local.get $p)))
    (i64.const 0)))
