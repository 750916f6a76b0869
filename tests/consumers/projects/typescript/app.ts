// Type-checked by tsc -p tsconfig.bundler.json and -p tsconfig.nodenext.json: strict, skipLibCheck false.
import {
  cnnFromKnobs,
  defaultTrainConfig,
  initDevice,
  parseIdx,
  type Gpu,
  type TrainConfig,
} from 'shadergrad';
import { loadMnist } from 'shadergrad/node';

export async function train(): Promise<number> {
  const gpu: Gpu = await initDevice();
  const config: TrainConfig = { ...defaultTrainConfig(), model: cnnFromKnobs({ dense: 64 }) };
  const { train } = await loadMnist();
  gpu.destroy();
  return config.batchSize + train.count + parseIdx(new Uint8Array(0), 'empty').dims.length;
}
