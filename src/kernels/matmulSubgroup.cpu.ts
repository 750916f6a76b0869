/**
 * CPU twin of shaders/matmulSubgroup.wgsl: the same contract as matmul, so the same spec
 * (matmulCpu in ./matmul.cpu, float64 sums).
 */
export { matmulCpu as matmulSubgroupCpu, type MatmulArgs } from './matmul.cpu';
