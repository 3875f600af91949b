;; Writes far more than a small max_response: 64 writes of 1 MiB, unless the
;; URI is "/small" (answers "small"). Its config is {"m":N}; N picks the
;; mode: 1 buffer_response, 2 buffer_response and next=1 (a
;; middleware buffering downstream), 3 buffer_request and read the whole
;; request body, anything else plain writes.
(module
  (import "http_handler" "enable_features" (func $ef (param i32) (result i32)))
  (import "http_handler" "get_config" (func $gc (param i32 i32) (result i32)))
  (import "http_handler" "get_uri" (func $gu (param i32 i32) (result i32)))
  (import "http_handler" "read_body" (func $rb (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $wb (param i32 i32 i32)))
  (memory (export "memory") 18 18)
  (data (i32.const 200) "/small")
  (func (export "handle_request") (result i64)
    (local $i i32) (local $mode i32)
    (if (i32.eq (call $gu (i32.const 100) (i32.const 64)) (i32.const 6))
      (then (if (i32.and (i32.eq (i32.load (i32.const 100)) (i32.load (i32.const 200)))
                         (i32.eq (i32.load16_u (i32.const 104)) (i32.load16_u (i32.const 204))))
        (then
          (call $wb (i32.const 1) (i32.const 201) (i32.const 5))
          (return (i64.const 0))))))
    (drop (call $gc (i32.const 0) (i32.const 16)))
    (local.set $mode (i32.load8_u (i32.const 5)))
    (if (i32.eq (local.get $mode) (i32.const 0x33))
      (then
        (drop (call $ef (i32.const 1)))
        (loop $r
          (br_if $r (i64.eqz (i64.shr_u
            (call $rb (i32.const 0) (i32.const 65536) (i32.const 1048576)) (i64.const 32)))))
        (return (i64.const 0))))
    (if (i32.ge_u (local.get $mode) (i32.const 0x31))
      (then (drop (call $ef (i32.const 2)))))
    (if (i32.eq (local.get $mode) (i32.const 0x32))
      (then (return (i64.const 1))))
    (loop $l
      (call $wb (i32.const 1) (i32.const 65536) (i32.const 1048576))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 64))))
    (i64.const 0)))
