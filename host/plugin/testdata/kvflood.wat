;; Route filling the key-value store, by method, with keys "<p>000",
;; "<p>001", … (up to 200) where <p> is the first byte of the request body:
;;   POST   writes the keys, each with 1000 bytes, until kv_set fails:
;;          answers "wrote <n> errno <last errno>";
;;   GET    answers "stored <keys> keys <bytes> bytes" of the keys present
;;          (key and value bytes);
;;   PUT    kv_set with the 4-byte key "a\00\00b": answers "errno <n>";
;;   PATCH  kv_set with the key "\ff\fe" (not UTF-8): answers "errno <n>".
(module
  (import "http_handler" "get_method" (func $get_method (param i32 i32) (result i32)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (import "http_handler" "read_body" (func $read_body (param i32 i32 i32) (result i64)))
  (import "mastra" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i64)))
  (import "mastra" "kv_set" (func $kv_set (param i32 i32 i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "k000")
  (data (i32.const 8) "errno ")
  (data (i32.const 16) "wrote ")
  (data (i32.const 24) " ")
  (data (i32.const 32) "a\00\00b")
  (data (i32.const 40) "\ff\fe")
  (data (i32.const 48) "stored ")
  (data (i32.const 56) " keys ")
  (data (i32.const 64) " bytes")
  (func $itoa (param $v i32) (param $end i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $end))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $l (local.get $v)))
    (local.get $p))
  (func $num (param $v i32)
    (local $p i32)
    (local.set $p (call $itoa (local.get $v) (i32.const 600)))
    (call $write_body (i32.const 1) (local.get $p) (i32.sub (i32.const 600) (local.get $p))))
  (func $errno (param $e i32) (result i64)
    (call $write_body (i32.const 1) (i32.const 8) (i32.const 6))
    (call $num (local.get $e))
    (i64.const 0))
  ;; key sets the digits of key i at 1..3
  (func $key (param $i i32)
    (i32.store8 (i32.const 1) (i32.add (i32.const 48) (i32.div_u (local.get $i) (i32.const 100))))
    (i32.store8 (i32.const 2) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $i) (i32.const 10)) (i32.const 10))))
    (i32.store8 (i32.const 3) (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10)))))
  (func (export "handle_request") (result i64)
    (local $m i32) (local $i i32) (local $e i32) (local $r i64) (local $n i32) (local $b i32)
    (drop (call $get_method (i32.const 1024) (i32.const 16)))
    (local.set $m (i32.load8_u (i32.const 1025)))
    (if (i64.ne (i64.and (call $read_body (i32.const 0) (i32.const 0) (i32.const 1)) (i64.const 0xffffffff)) (i64.const 0))
      (then (nop)) ;; the prefix is now at 0
      (else (i32.store8 (i32.const 0) (i32.const 107)))) ;; "k"
    (if (i32.eq (local.get $m) (i32.const 69)) ;; gEt: count the keys present, probing with buf_limit 0
      (then
        (loop $count
          (call $key (local.get $i))
          (local.set $r (call $kv_get (i32.const 0) (i32.const 4) (i32.const 4096) (i32.const 0)))
          (if (i64.eqz (i64.shr_u (local.get $r) (i64.const 32)))
            (then
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (local.set $b (i32.add (local.get $b) (i32.add (i32.const 4) (i32.wrap_i64 (local.get $r)))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $count (i32.lt_u (local.get $i) (i32.const 200))))
        (call $write_body (i32.const 1) (i32.const 48) (i32.const 7))
        (call $num (local.get $n))
        (call $write_body (i32.const 1) (i32.const 56) (i32.const 6))
        (call $num (local.get $b))
        (call $write_body (i32.const 1) (i32.const 64) (i32.const 6))
        (return (i64.const 0))))
    (if (i32.eq (local.get $m) (i32.const 85)) ;; pUt
      (then (return (call $errno (call $kv_set (i32.const 32) (i32.const 4) (i32.const 8) (i32.const 1) (i64.const 0))))))
    (if (i32.eq (local.get $m) (i32.const 65)) ;; pAtch
      (then (return (call $errno (call $kv_set (i32.const 40) (i32.const 2) (i32.const 8) (i32.const 1) (i64.const 0))))))
    ;; POST: the value is 1000 bytes of 'a' at 4096
    (loop $fill
      (i32.store8 (i32.add (i32.const 4096) (local.get $i)) (i32.const 97))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 1000))))
    (local.set $i (i32.const 0))
    (block $done
      (loop $write
        (br_if $done (i32.ge_u (local.get $i) (i32.const 200)))
        (call $key (local.get $i))
        (local.set $e (call $kv_set (i32.const 0) (i32.const 4) (i32.const 4096) (i32.const 1000) (i64.const 0)))
        (br_if $done (local.get $e))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $write)))
    (call $write_body (i32.const 1) (i32.const 16) (i32.const 6))
    (call $num (local.get $i))
    (call $write_body (i32.const 1) (i32.const 24) (i32.const 1))
    (drop (call $errno (local.get $e)))
    (i64.const 0)))
