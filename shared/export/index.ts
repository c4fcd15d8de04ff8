// Export of a trained model (run config + trainer state, e.g. a checkpoint's) to standard
// formats, as bytes: ONNX for inference runtimes, safetensors for PyTorch. README.md beside
// this file has the layer mapping.
export { exportOnnx, ONNX_INPUT, ONNX_LOGITS, ONNX_OPSET, ONNX_OUTPUT } from './onnx.js';
export { exportSafetensors } from './safetensors.js';
export type { ExportOptions } from './layout.js';
