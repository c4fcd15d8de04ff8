// The wire protocol between coordinator and workers, one import for both sides: every message
// type, declared once as a discriminated union on `type` with its runtime validation
// (protocol-messages.ts), the handshake's runtime compatibility rule (protocol-runtime.ts), and
// the msgpack codec that validates every incoming frame (protocol-codec.ts). shared/PROTOCOL.md
// lists the messages and the flow.
export {
  type AgentInfo,
  agentSchema,
  CLOSE,
  type ErrorCode,
  type MessageOf,
  PROTOCOL_VERSION,
  type GradBlock,
  type RuntimeInfo,
  type ToCoordinator,
  type ToWorker,
  blockSchema,
  runtimeSchema,
  toCoordinatorSchema,
  toWorkerSchema,
} from './protocol-messages.js';
export { runtimeMismatch } from './protocol-runtime.js';
export {
  FrameError,
  MAX_FRAME_BYTES,
  decodeToCoordinator,
  decodeToWorker,
  encode,
  concatParts,
  encodeParts,
  frameLimit,
  sendParts,
} from './protocol-codec.js';
