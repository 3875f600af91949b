;; Route: answers how many requests this instance has served (1, 2, …), so
;; a test sees whether two routes share one plugin (with one instance, the
;; count goes on) or not (each starts at 1).
(module
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0))
  (func (export "handle_request") (result i64)
    (local $v i32) (local $p i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (local.set $v (global.get $n))
    (local.set $p (i32.const 64))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $l (local.get $v)))
    (call $write_body (i32.const 1) (local.get $p) (i32.sub (i32.const 64) (local.get $p)))
    (i64.const 0)))
