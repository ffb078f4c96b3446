;; FastCDC's hot loop (see fastcdc.ts, findCut) in WebAssembly: the 64-bit gear hash over a window
;; of bytes, stopping at the first byte whose hash has no bit of the mask set. Assembled into
;; gear-scan-wasm.ts by `npm run build:wasm` (scripts/build-wasm.mjs).
;;
;; Memory: bytes 0..2047 hold the 256 gear values (i64, little-endian), written by the caller;
;; the window to scan starts at byte 2048. A chunk's bytes may come in several windows: the hash
;; carries over from one scan to the next until `reset`.
(module
  (memory (export "memory") 1)
  (global $h (mut i64) (i64.const 0))
  (func (export "reset") (global.set $h (i64.const 0)))
  ;; Scans window bytes [0, len): up to `center` with mask `small` (harder to match), then with
  ;; `large`. Returns the index of the first matching byte, or `len` when none matches.
  (func (export "scan") (param $len i32) (param $center i32) (param $small i64) (param $large i64) (result i32)
    (local $i i32)
    (local $h i64)
    (local.set $h (global.get $h))
    (block $small_done
      (loop $small_loop
        (br_if $small_done (i32.ge_u (local.get $i) (local.get $center)))
        (local.set $h
          (i64.add
            (i64.shl (local.get $h) (i64.const 1))
            (i64.load (i32.shl (i32.load8_u offset=2048 (local.get $i)) (i32.const 3)))))
        (if (i64.eqz (i64.and (local.get $h) (local.get $small)))
          (then (global.set $h (local.get $h)) (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $small_loop)))
    (block $large_done
      (loop $large_loop
        (br_if $large_done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $h
          (i64.add
            (i64.shl (local.get $h) (i64.const 1))
            (i64.load (i32.shl (i32.load8_u offset=2048 (local.get $i)) (i32.const 3)))))
        (if (i64.eqz (i64.and (local.get $h) (local.get $large)))
          (then (global.set $h (local.get $h)) (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $large_loop)))
    (global.set $h (local.get $h))
    (local.get $i)))
