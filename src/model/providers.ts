// Execution provider names, without importing onnxruntime, so parameter parsing
// can validate them on machines (and in tests) that never load a model.
export const PROVIDERS = ["cpu", "cuda", "tensorrt", "webgpu"] as const;
export type Provider = (typeof PROVIDERS)[number];
