// Execution provider names, without importing onnxruntime, so parameter parsing
// can validate them on machines (and in tests) that never load a model.
export const PROVIDERS = ["cpu", "cuda", "tensorrt", "webgpu"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** onnxruntime graph optimisation levels ("all" includes layout optimisations). */
export const GRAPH_OPTIMIZATIONS = ["disabled", "basic", "extended", "all"] as const;
export type GraphOptimization = (typeof GRAPH_OPTIMIZATIONS)[number];
