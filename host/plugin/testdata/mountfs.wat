;; Route over the first preopened directory (fd 3), the path being the
;; request body, following symbolic links:
;;   GET  reads the file: answers "ok:<first 256 bytes>", or "errno <n>";
;;   PUT  creates or truncates it and writes "planted": "ok:", or "errno <n>".
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "http_handler" "get_method" (func $get_method (param i32 i32) (result i32)))
  (import "http_handler" "read_body" (func $read_body (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ok:")
  (data (i32.const 8) "errno ")
  (data (i32.const 16) "planted")
  (func $itoa (param $v i32) (param $end i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $end))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $l (local.get $v)))
    (local.get $p))
  (func $errno (param $e i32) (result i64)
    (local $p i32)
    (call $write_body (i32.const 1) (i32.const 8) (i32.const 6))
    (local.set $p (call $itoa (local.get $e) (i32.const 600)))
    (call $write_body (i32.const 1) (local.get $p) (i32.sub (i32.const 600) (local.get $p)))
    (i64.const 0))
  (func (export "handle_request") (result i64)
    (local $n i32) (local $e i32) (local $put i32)
    (drop (call $get_method (i32.const 900) (i32.const 16)))
    (local.set $put (i32.eq (i32.load8_u (i32.const 900)) (i32.const 80))) ;; P
    ;; the path: body at 1024, up to 1000 bytes
    (local.set $n (i32.wrap_i64 (i64.and (call $read_body (i32.const 0) (i32.const 1024) (i32.const 1000))
                                         (i64.const 0xffffffff))))
    ;; path_open(fd 3, symlink_follow, path, oflags, rights, 0, fdflags 0) -> fd at 100
    ;; GET: rights fd_read (2); PUT: oflags creat|trunc (9), rights fd_write (64)
    (local.set $e (call $path_open (i32.const 3) (i32.const 1) (i32.const 1024) (local.get $n)
                    (select (i32.const 9) (i32.const 0) (local.get $put))
                    (select (i64.const 64) (i64.const 2) (local.get $put))
                    (i64.const 0) (i32.const 0) (i32.const 100)))
    (if (local.get $e) (then (return (call $errno (local.get $e)))))
    (call $write_body (i32.const 1) (i32.const 0) (i32.const 3))
    ;; iovec at 300; count at 308
    (if (local.get $put)
      (then
        (i32.store (i32.const 300) (i32.const 16))
        (i32.store (i32.const 304) (i32.const 7))
        (drop (call $fd_write (i32.load (i32.const 100)) (i32.const 300) (i32.const 1) (i32.const 308))))
      (else
        (i32.store (i32.const 300) (i32.const 4096))
        (i32.store (i32.const 304) (i32.const 256))
        (drop (call $fd_read (i32.load (i32.const 100)) (i32.const 300) (i32.const 1) (i32.const 308)))
        (call $write_body (i32.const 1) (i32.const 4096) (i32.load (i32.const 308)))))
    (drop (call $fd_close (i32.load (i32.const 100))))
    (i64.const 0)))
