/** Training configs the engine tests share. */
import { cnnFromKnobs, defaultTrainConfig, type TrainConfig } from '../../src/models/config';

/** A small CNN (4 and 8 features, dense 32) that trains in seconds on a software GPU. */
export function smallConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...defaultTrainConfig(),
    model: cnnFromKnobs({ features: [4, 8], dense: 32 }),
    batchSize: 32,
    ...overrides,
  };
}
