/**
 * Peer: the character GPT of src/models/gpt.ts in jax-js, as a JAX user writes it, trained by the
 * same jitted step as the image models (./jaxjs.ts: valueAndGrad, the hand-written Adam):
 *
 *   tokens [N, T] -> np.take(wte [V, C], tokens, 0) (a gather; jax-js differentiates it with a
 *   scatter-add) -> + wpe [T, C] (broadcast over N) -> `layers` causal pre-norm blocks
 *   (./jaxjsModel.ts transformerBlock: ln1, attention with the triu mask, ln2, exact-erf GELU MLP)
 *   -> layer norm ln_f -> np.dot head [C, V] + bias -> mean cross-entropy over all N·T positions
 *
 * The parameters carry shadergrad's names and sizes (wte, wpe, blocks.<i>..., ln_f, head); dense
 * weights are [in, out] as jaxjsModel keeps them. Init: dense uniform(+-1/sqrt(fanIn)) as
 * shadergrad's, layer norms ones/zeros; the embeddings, normal in shadergrad (std 1 for wte, 0.02
 * for wpe), are uniform with the same standard deviation here (bound sqrt(3)·std), the form
 * initUniform draws. Only the loss column sees the difference; the step's work is the same.
 */
import type * as JaxModule from '@jax-js/jax';
import type { Array as JaxArray } from '@jax-js/jax';
import type { GptConfig } from '../../src/models/gpt';
import {
  LN_EPS,
  addNorm,
  blockSpecs,
  layerNorm,
  transformerBlock,
  type AddSpec,
  type JaxParamSpec,
  type LayerContext,
  type Params,
} from './jaxjsModel';
import { crossEntropy, loadJax, runJaxNet, type JaxNet } from './jaxjs';
import { windowAt, type BenchOptions, type FrameworkResult, type TextWindow } from './common';

type Jax = typeof JaxModule;
/** A GptConfig with every size given (the MLP's hidden width too), as both frameworks build it. */
export type GptSizes = Required<Omit<GptConfig, 'gelu' | 'tie'>>;

/** uniform(+-1/sqrt(fanIn)) has std 1/sqrt(3·fanIn): the fanIn giving standard deviation `std`. */
const fanInForStd = (std: number): number => 1 / (3 * std * std);

/** Every parameter of the GPT in shadergrad's order (gptGraph's). */
export function gptParamSpecs(c: GptSizes): JaxParamSpec[] {
  const specs: JaxParamSpec[] = [];
  const add: AddSpec = (name, shape, init, fanIn = 1) =>
    specs.push({ name, shape, init, fanIn, trainable: true });
  add('wte.weight', [c.vocab, c.width], 'uniform', fanInForStd(1)); // torch.nn.Embedding: N(0, 1)
  add('wpe.weight', [c.context, c.width], 'uniform', fanInForStd(0.02)); // GPT-2's N(0, 0.02²)
  for (let i = 0; i < c.layers; i++) blockSpecs(add, `blocks.${i}`, c.width, c.hidden);
  addNorm(add, 'ln_f', c.width);
  add('head.weight', [c.width, c.vocab], 'uniform', c.width);
  add('head.bias', [c.vocab], 'uniform', c.width);
  return specs;
}

function take(p: Params, name: string): JaxArray {
  const a = p[name];
  if (!a) throw new Error(`jax-js GPT: no parameter ${name}`);
  return a;
}

/** The parameters under `prefix` as jaxjsModel's layers read them; a GPT has no running state. */
function scope(jax: Jax, p: Params, prefix: string): LayerContext {
  const noState = (): never => {
    throw new Error(`jax-js GPT: ${prefix} asked for running statistics`);
  };
  return { jax, param: (part) => take(p, `${prefix}${part}`), state: noState, setState: noState };
}

/** Logits [N, T, V] of tokens [N, T] (int32); consumes p and tokens. */
function gptLogits(jax: Jax, c: GptSizes, p: Params, tokens: JaxArray): JaxArray {
  const np = jax.numpy;
  const embedded = np.take(take(p, 'wte.weight'), tokens, 0); // [N, T, C]
  let x = embedded.add(take(p, 'wpe.weight')); // + [T, C], broadcast over N
  const block = {
    type: 'transformerBlock',
    heads: c.heads,
    hidden: c.hidden,
    causal: true,
  } as const;
  for (let i = 0; i < c.layers; i++) x = transformerBlock(scope(jax, p, `blocks.${i}.`), block, x);
  const normed = layerNorm(scope(jax, p, 'ln_f.'), '', x, LN_EPS);
  return np.dot(normed, take(p, 'head.weight')).add(take(p, 'head.bias'));
}

function gptNet(jax: Jax, c: GptSizes, batch: number): JaxNet {
  const rows = batch * c.context;
  return {
    specs: gptParamSpecs(c),
    // every position predicts its next character: [N·T, V] logits against [N·T] labels
    loss: (p, state, x, y) => [
      crossEntropy(jax, gptLogits(jax, c, p, x).reshape([rows, c.vocab]), y, c.vocab),
      state,
    ],
  };
}

/** Trains the GPT with jax-js on WebGPU under jit, step i on windows[i], and times it. */
export async function benchJaxjsGpt(
  windows: readonly TextWindow[],
  o: BenchOptions,
  config: GptSizes,
): Promise<FrameworkResult> {
  const jax = await loadJax();
  const np = jax.numpy;
  return runJaxNet(
    jax,
    gptNet(jax, config, o.batch),
    (index) => {
      const w = windowAt(windows, index);
      const tokens = np.array(Int32Array.from(w.tokens), { dtype: np.int32 });
      return [tokens.reshape([o.batch, config.context]), np.array(w.labels, { dtype: np.int32 })];
    },
    o,
  );
}
