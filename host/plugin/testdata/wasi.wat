;; Route probing the WASI sandbox. Answers
;;   "env=<count>;<environ bytes, NUL-separated>;prestat=<errno>;open=<errno>;data=<file>|clock=<0|1>;rand=<8 bytes>"
;; where open is path_open(fd 3, "secret.txt"), data its first 256 bytes,
;; clock 1 when the wall clock reads after 2020, rand 8 bytes of random_get.
;; Also writes "hello stdout" to fd 1.
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "env=")
  (data (i32.const 8) ";prestat=")
  (data (i32.const 24) ";open=")
  (data (i32.const 32) ";data=")
  (data (i32.const 40) "secret.txt")
  (data (i32.const 56) ";")
  (data (i32.const 64) "|clock=")
  (data (i32.const 72) ";rand=")
  (data (i32.const 80) "hello stdout\n")
  (func $itoa (param $v i32) (param $end i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $end))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $l (local.get $v)))
    (local.get $p))
  (func $w (param $p i32) (param $n i32) (call $write_body (i32.const 1) (local.get $p) (local.get $n)))
  (func $num (param $v i32) (local $p i32)
    (local.set $p (call $itoa (local.get $v) (i32.const 600)))
    (call $w (local.get $p) (i32.sub (i32.const 600) (local.get $p))))
  (func (export "handle_request") (result i64)
    (local $e i32)
    ;; environment: count at 1000, size at 1004, pointers at 2000, bytes at 3000
    (drop (call $env_sizes (i32.const 1000) (i32.const 1004)))
    (call $w (i32.const 0) (i32.const 4))
    (call $num (i32.load (i32.const 1000)))
    (call $w (i32.const 56) (i32.const 1))
    (if (i32.le_u (i32.load (i32.const 1004)) (i32.const 4096))
      (then
        (drop (call $env_get (i32.const 2000) (i32.const 3000)))
        (call $w (i32.const 3000) (i32.load (i32.const 1004)))))
    (call $w (i32.const 8) (i32.const 9))
    (call $num (call $prestat (i32.const 3) (i32.const 1008)))
    ;; path_open(dirfd 3, no flags, "secret.txt", read rights) -> fd at 1016
    (local.set $e (call $path_open (i32.const 3) (i32.const 0) (i32.const 40) (i32.const 10)
                                   (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 1016)))
    (call $w (i32.const 24) (i32.const 6))
    (call $num (local.get $e))
    (call $w (i32.const 32) (i32.const 6))
    (if (i32.eqz (local.get $e))
      (then
        ;; iovec {8192, 256} at 1024, nread at 1032
        (i32.store (i32.const 1024) (i32.const 8192))
        (i32.store (i32.const 1028) (i32.const 256))
        (drop (call $fd_read (i32.load (i32.const 1016)) (i32.const 1024) (i32.const 1) (i32.const 1032)))
        (call $w (i32.const 8192) (i32.load (i32.const 1032)))))
    ;; realtime clock at 1040: after 2020-01-01 (1.5778e18 ns)?
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 1040)))
    (call $w (i32.const 64) (i32.const 7))
    (call $num (i64.gt_u (i64.load (i32.const 1040)) (i64.const 1577836800000000000)))
    (drop (call $random (i32.const 1048) (i32.const 8)))
    (call $w (i32.const 72) (i32.const 6))
    (call $w (i32.const 1048) (i32.const 8))
    ;; iovec {80, 13} at 1056, nwritten at 1064
    (i32.store (i32.const 1056) (i32.const 80))
    (i32.store (i32.const 1060) (i32.const 13))
    (drop (call $fd_write (i32.const 1) (i32.const 1056) (i32.const 1) (i32.const 1064)))
    (i64.const 0)))
