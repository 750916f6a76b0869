/**
 * Pipeline cache: compute pipelines keyed `shader|entryPoint|JSON(constants)`, compiled async
 * with in-flight dedupe. The shader part of the key is its name and its code's number (one per
 * distinct code), so an edited copy of a family's source (the kernel explorer's editor) compiles
 * anew under the family's name instead of reusing the library's pipeline. Bind-group layouts are explicit, built from wgsl_reflect's reflection of
 * the entry point's @group(0) resources (read storage, read_write storage, uniform), so a
 * wrapper that binds the wrong kind of buffer fails validation with the kernel's label.
 * Compile errors throw a KernelError with line:col in the family's own .wgsl file, also for
 * source that does not parse (the compiler's messages, not the reflector's).
 */
import { WgslReflect, ResourceType, type FunctionInfo } from 'wgsl_reflect/wgsl_reflect.module.js';
import { KernelError } from '../base/errors';

/** WGSL source of one kernel family. `prefixLines` lines of common.wgsl come first. */
export interface ShaderSource {
  readonly name: string;
  readonly code: string;
  readonly prefixLines: number;
}

/** One binding of an entry point, in @binding order. */
export interface ReflectedBinding {
  binding: number;
  name: string;
  kind: 'read' | 'read_write' | 'uniform';
}

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly bindings: readonly ReflectedBinding[];
  readonly label: string;
}

export interface PipelineRequest {
  shader: ShaderSource;
  entryPoint: string;
  constants?: Readonly<Record<string, number>>;
}

const reflections = new Map<string, WgslReflect>();

/** Parses (once per source) and returns wgsl_reflect's view of a shader. */
export function reflectShader(shader: ShaderSource): WgslReflect {
  let r = reflections.get(shader.code);
  if (!r) {
    r = new WgslReflect(shader.code);
    reflections.set(shader.code, r);
  }
  return r;
}

export function findEntryPoint(shader: ShaderSource, entryPoint: string): FunctionInfo {
  const fn = reflectShader(shader).entry.compute.find((f) => f.name === entryPoint);
  if (!fn)
    throw new KernelError(
      `${shader.name}.${entryPoint}`,
      `no compute entry point named ${entryPoint}`,
    );
  return fn;
}

/** The entry point's @group(0) buffers in binding order. */
export function reflectBindings(shader: ShaderSource, entryPoint: string): ReflectedBinding[] {
  const fn = findEntryPoint(shader, entryPoint);
  const bindings = fn.resources
    .filter((r) => r.group === 0)
    .sort((a, b) => a.binding - b.binding)
    .map((r) => {
      let kind: ReflectedBinding['kind'];
      if (r.resourceType === ResourceType.Uniform) kind = 'uniform';
      else if (r.resourceType === ResourceType.Storage)
        kind = r.access === 'read' ? 'read' : 'read_write';
      else
        throw new KernelError(`${shader.name}.${entryPoint}`, `binding ${r.name} is not a buffer`);
      return { binding: r.binding, name: r.name, kind };
    });
  checkDistinct(`${shader.name}.${entryPoint}`, bindings);
  return bindings;
}

/** wgsl_reflect matches identifiers by name, so a helper's local named like a binding shows up. */
function checkDistinct(label: string, bindings: ReflectedBinding[]): void {
  for (let i = 1; i < bindings.length; i++) {
    const a = bindings[i - 1];
    const b = bindings[i];
    if (a && b && a.binding === b.binding) {
      throw new KernelError(
        label,
        `bindings ${a.name} and ${b.name} share @binding(${a.binding}); rename locals that share a binding's name`,
      );
    }
  }
}

const bufferTypes = {
  read: 'read-only-storage',
  read_write: 'storage',
  uniform: 'uniform',
} as const;

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, Promise<CachedPipeline>>();

  constructor(private readonly device: GPUDevice) {}

  /** Number of compiled (or compiling) pipelines, for tests and the memory panel. */
  get size(): number {
    return this.pipelines.size;
  }

  /** Returns the pipeline, compiling it on first use; concurrent callers share one compile. */
  get(request: PipelineRequest): Promise<CachedPipeline> {
    const key = cacheKey(request);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.compile(request);
      p.catch(() => this.pipelines.delete(key));
      this.pipelines.set(key, p);
    }
    return p;
  }

  private module(shader: ShaderSource): GPUShaderModule {
    let m = this.modules.get(shader.code);
    if (!m) {
      m = this.device.createShaderModule({ label: shader.name, code: shader.code });
      this.modules.set(shader.code, m);
    }
    return m;
  }

  private async compile(request: PipelineRequest): Promise<CachedPipeline> {
    const { shader, entryPoint } = request;
    const label = `${shader.name}.${entryPoint}`;
    const missing = missingFeatures(shader, this.device);
    if (missing.length > 0)
      throw new KernelError(
        label,
        `needs the device feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this device lacks`,
      );
    const bindings = await this.reflectOrReport(shader, entryPoint);
    const layout = this.device.createBindGroupLayout({
      label,
      entries: bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: bufferTypes[b.kind] },
      })),
    });
    // Scoped, so a compile error becomes this KernelError rather than an uncaptured-error log.
    this.device.pushErrorScope('validation');
    const module = this.module(shader);
    const scoped = this.device.popErrorScope();
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label,
        layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint, constants: { ...request.constants } },
      });
      await scoped;
      return { pipeline, layout, bindings, label };
    } catch (cause) {
      await scoped;
      throw new KernelError(label, await compileReport(module, shader, cause));
    }
  }

  /**
   * The entry point's bindings; when the reflector cannot parse the source, the compiler's
   * line:col report instead of the reflector's message (whose lines count common.wgsl too).
   */
  private async reflectOrReport(
    shader: ShaderSource,
    entryPoint: string,
  ): Promise<ReflectedBinding[]> {
    try {
      return reflectBindings(shader, entryPoint);
    } catch (cause) {
      if (cause instanceof KernelError) throw cause;
      this.device.pushErrorScope('validation');
      const module = this.module(shader);
      await this.device.popErrorScope();
      throw new KernelError(
        `${shader.name}.${entryPoint}`,
        await compileReport(module, shader, cause),
      );
    }
  }
}

/** The device feature each WGSL extension (`enable` directive) needs. */
const EXTENSION_FEATURES: Readonly<Record<string, string>> = {
  f16: 'shader-f16',
  subgroups: 'subgroups',
};

/**
 * Features the shader's leading `enable` directives need that the device lacks: named before the
 * compiler's own message, which does not say what to do.
 */
export function missingFeatures(shader: ShaderSource, device: GPUDevice): string[] {
  const missing: string[] = [];
  for (const match of shader.code.matchAll(/^enable\s+([\w\s,]+);/gm)) {
    for (const extension of (match[1] ?? '').split(',').map((e) => e.trim())) {
      const feature = EXTENSION_FEATURES[extension];
      if (feature && !device.features.has(feature)) missing.push(feature);
    }
  }
  return missing;
}

/** A number per distinct shader code, so the key stays short however long the code is. */
const codeIds = new Map<string, number>();

function cacheKey(r: PipelineRequest): string {
  let id = codeIds.get(r.shader.code);
  if (id === undefined) {
    id = codeIds.size;
    codeIds.set(r.shader.code, id);
  }
  return `${r.shader.name}#${id}|${r.entryPoint}|${JSON.stringify(r.constants ?? {})}`;
}

/** Compiler messages as `file.wgsl:line:col message`, lines counted in the family's own file. */
async function compileReport(
  module: GPUShaderModule,
  shader: ShaderSource,
  cause: unknown,
): Promise<string> {
  const info = await module.getCompilationInfo();
  const lines = info.messages
    .filter((m) => m.type === 'error')
    .map((m) => {
      const inCommon = m.lineNum <= shader.prefixLines;
      const file = inCommon ? 'common.wgsl' : `${shader.name}.wgsl`;
      const line = inCommon ? m.lineNum : m.lineNum - shader.prefixLines;
      return `${file}:${line}:${m.linePos} ${m.message}`;
    });
  const reason = cause instanceof Error ? cause.message : String(cause);
  return lines.length > 0
    ? `shader did not compile:\n${lines.join('\n')}`
    : `pipeline creation failed: ${reason}`;
}
