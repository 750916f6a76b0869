/**
 * The kernels' one barrel: everything above src/kernels (graph, train, models, the public API,
 * benches and pages) reaches the kernels through this file only. Per family, the wrappers
 * (args -> KernelCall, run with `runCalls` or a plan) and the CPU twins (plain loops on typed
 * arrays, the spec each kernel is tested against), the geometry their args need, and the registry
 * of every family. Named re-exports only: no side effects, nothing new.
 */
export { kernelFamilies } from './registry';
export type { KernelFamily } from './family';
export type { Activation, FloatArray } from './common.cpu';
export { activationCode } from './common.cpu';
export { activationForward, activationBackward } from './activation';
export { activationForwardCpu, activationBackwardCpu } from './activation.cpu';
export { geluForward, geluBackward } from './gelu';
export {
  geluForwardCpu,
  geluBackwardCpu,
  type GeluApproximation,
  type GeluForwardArgs,
  type GeluBackwardArgs,
} from './gelu.cpu';
export { biasAddForward, biasBackward } from './bias';
export { channelSumLanes } from './channelSum';
export { biasAddForwardCpu, biasBackwardCpu } from './bias.cpu';
export {
  batchNormStats,
  batchNormForward,
  batchNormRunningUpdate,
  batchNormBackward,
} from './batchNorm';
export {
  batchNormStatsCpu,
  batchNormForwardCpu,
  batchNormRunningUpdateCpu,
  batchNormBackwardCpu,
  type BatchNormStatsArgs,
  type BatchNormForwardArgs,
  type BatchNormRunningUpdateArgs,
  type BatchNormBackwardArgs,
} from './batchNorm.cpu';
export { layerNormForward, layerNormBackward } from './layerNorm';
export {
  layerNormForwardCpu,
  layerNormBackwardCpu,
  type LayerNormForwardArgs,
  type LayerNormBackwardArgs,
} from './layerNorm.cpu';
export { halfOperands } from './matmulParams';
export {
  checkMatmulArgs,
  choiceName,
  matmul,
  matmulFlops,
  matmulShader,
  policyVariant,
  preferredMatmulChoice,
  preferredMatmulVariant,
  type MatmulChoice,
  type MatmulChooser,
  type MatmulPolicy,
  type MatmulVariant,
} from './matmul';
export { matmulCpu, matmulStrides, type MatmulArgs } from './matmul.cpu';
export { matmulSubgroupShader } from './matmulSubgroup';
export {
  conv2dGeometry,
  convGeometry,
  poolGeometry,
  poolOutSize,
  type AxisPadding,
  type Conv2dGeometry,
  type Padding,
  type PoolGeometry,
} from './geometry';
export { im2col, col2im } from './conv2dIm2col';
export { im2colCpu, col2imCpu } from './conv2dIm2col.cpu';
export {
  conv2dForward,
  conv2dBackward,
  conv2dBatchChunk,
  conv2dColsShape,
  conv2dPlan,
  type ConvPlan,
  type ConvPlanOptions,
  weightGradNote,
  weightGradRun,
  weightGradRunsShape,
  conv2dInputGrad,
} from './conv2d';
export {
  conv2dInputGradScratch,
  halfStorageNote,
  inputGradPathNote,
  usesImplicitBackwardData,
  inputGradPathOf,
  implicitInputGradFits,
  implicitProductOf,
  inputGradPathsFor,
  defaultInputGradPath,
  DefaultPolicy,
  preferredPolicy,
  INPUT_GRAD_PATHS,
  CONV_PATHS,
  convPathOf,
  defaultConvPath,
  type ConvPath,
  type ConvPathChooser,
  type InputGradPath,
  type InputGradChooser,
  type ScratchDtype,
} from './conv2dPaths';
export {
  weightCkoShape,
  paddedGradientShape,
  conv2dImplicitShader,
  conv2dImplicitSubgroupShader,
  type ImplicitProduct,
} from './conv2dImplicit';
export {
  conv2dImplicitForward,
  conv2dImplicitWeightGrad,
  forwardProductGeometry,
  implicitConvProblem,
  inputPaddedShape,
  outputRowsShape,
  weightGradPadsRows,
  weightForwardShape,
} from './conv2dImplicitConv';
export { conv2dIm2colShader } from './conv2dIm2col';
export { conv2dForwardCpu, conv2dBackwardCpu } from './conv2d.cpu';
export { maxPoolForward, maxPoolBackward } from './maxPool';
export { maxPoolForwardCpu, maxPoolBackwardCpu } from './maxPool.cpu';
export { avgPoolForward, avgPoolBackward } from './avgPool';
export { avgPoolForwardCpu, avgPoolBackwardCpu } from './avgPool.cpu';
export {
  softmaxCrossEntropyForward,
  softmaxCrossEntropyBackward,
  softmaxCrossEntropyForwardBackward,
} from './softmaxCrossEntropy';
export {
  softmaxCrossEntropyForwardCpu,
  keptRows,
  softmaxCrossEntropyBackwardCpu,
  softmaxCrossEntropyForwardBackwardCpu,
} from './softmaxCrossEntropy.cpu';
export { softmaxForward, softmaxBackward } from './softmax';
export {
  softmaxForwardCpu,
  softmaxBackwardCpu,
  type SoftmaxForwardArgs,
  type SoftmaxBackwardArgs,
} from './softmax.cpu';
export { embeddingForward, embeddingBackward, positionAddForward } from './embedding';
export {
  embeddingForwardCpu,
  embeddingBackwardCpu,
  positionAddForwardCpu,
  type EmbeddingForwardArgs,
  type EmbeddingBackwardArgs,
  type PositionAddForwardArgs,
} from './embedding.cpu';
export { transpose } from './transpose';
export { transposeCpu, type TransposeArgs } from './transpose.cpu';
export { sampleToken, type SampleTokenGpuArgs } from './sample';
export {
  sampleTokenCpu,
  drawIntervals,
  packDraw,
  checkDraw,
  NO_TOKEN,
  type Draw,
  type SampleTokenArgs,
} from './sample.cpu';
export { mseForward, mseBackward } from './mse';
export { mseForwardCpu, mseBackwardCpu } from './mse.cpu';
export { lossMean } from './reduce';
export { lossMeanCpu } from './reduce.cpu';
export { accuracyCount, accuracyArgmax } from './accuracy';
export { accuracyCountCpu, accuracyArgmaxCpu } from './accuracy.cpu';
export { adamPerInvocation, optimizerStepBegin, optimizerUpdate, clipGradNorm } from './optimizer';
export {
  optimizerStepBeginCpu,
  optimizerUpdateCpu,
  clipGradNormCpu,
  learningRateAt,
  optimizerConfigFor,
  optimizerConfigProblems,
  LR_SCHEDULE_KINDS,
  type LrSchedule,
  type LrScheduleKind,
  optimizerStateSlots,
  optimizerStateNames,
  resolveOptimizerConfig,
  OPTIMIZER_KINDS,
  type OptimizerConfig,
  type OptimizerKind,
  type ResolvedOptimizerConfig,
} from './optimizer.cpu';
export { gatherImages, gatherLabels } from './batchGather';
export { gatherImagesCpu, gatherLabelsCpu } from './batchGather.cpu';
export { dropoutForward, dropoutBackward } from './dropout';
export {
  dropoutForwardCpu,
  dropoutBackwardCpu,
  dropoutMaskCpu,
  isDropoutRate,
} from './dropout.cpu';
export { addForward, addBackward, addCopy, addAccumulate, addSpatialSum } from './add';
export {
  addForwardCpu,
  addBackwardCpu,
  addCopyCpu,
  addAccumulateCpu,
  addSpatialSumCpu,
  type AddForwardArgs,
  type AddBackwardArgs,
  type AddCopyArgs,
  type AddAccumulateArgs,
  type AddSpatialSumArgs,
} from './add.cpu';
export { concatForward, concatBackward } from './concat';
export {
  concatForwardCpu,
  concatBackwardCpu,
  type ConcatForwardArgs,
  type ConcatBackwardArgs,
} from './concat.cpu';
export { globalAvgPoolForward, globalAvgPoolBackward } from './globalAvgPool';
export {
  globalAvgPoolForwardCpu,
  globalAvgPoolBackwardCpu,
  type GlobalAvgPoolForwardArgs,
  type GlobalAvgPoolBackwardArgs,
} from './globalAvgPool.cpu';
export { fmaPeak } from './fmaPeak';
export { fmaPeakCpu, fmaPeakFlops } from './fmaPeak.cpu';
export { streamCopy } from './stream';
export { streamCopyCpu, streamCopyBytes, type StreamCopyArgs } from './stream.cpu';
