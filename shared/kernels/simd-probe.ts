// Whether the engine has WebAssembly SIMD, which the wasm-simd kernels need: a tiny module using
// one v128 instruction validates exactly where it does. Its own file so that the join page can
// check it without loading the kernels (worker/browser/page.ts).

/** (module (func (result v128) (v128.const i32x4 0 0 0 0))): valid exactly where the engine
 *  has WebAssembly SIMD */
export const SIMD_PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x05,
  0x01,
  0x60,
  0x00,
  0x01,
  0x7b, // types: () -> v128
  0x03,
  0x02,
  0x01,
  0x00, // functions: one of type 0
  0x0a,
  0x16,
  0x01,
  0x14,
  0x00,
  0xfd,
  0x0c,
  ...new Array<number>(16).fill(0),
  0x0b, // code: v128.const 0, end
]);

/** Does this engine run WebAssembly SIMD? */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}
