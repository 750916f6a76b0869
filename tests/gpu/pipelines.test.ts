import { describe, expect, it } from 'vitest';
import { grid1d, runCalls } from '../../src/gpu/dispatch';
import { KernelError } from '../../src/base/errors';
import { ResourceType } from 'wgsl_reflect/wgsl_reflect.module.js';
import { reflectShader } from '../../src/gpu/pipelines';
import { readFloat32 } from '../../src/gpu/buffers';
import { activationForward, activationShader } from '../../src/kernels/activation';
import { kernelFamilies } from '../../src/kernels/index';
import { familyShader } from '../../src/kernels/shader';
import { upload, useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('pipeline cache', () => {
  it('compiles once per shader, entry point and constants, sharing in-flight compiles', async () => {
    const request = {
      shader: activationShader,
      entryPoint: 'activationForward',
      constants: { workgroupSize: 64, activation: 2 },
    };
    const before = gpu().pipelines.size;
    const [p1, p2] = await Promise.all([
      gpu().pipelines.get(request),
      gpu().pipelines.get({ ...request }),
    ]);
    expect(p1).toBe(p2);
    expect(gpu().pipelines.size).toBe(before + 1);
    await gpu().pipelines.get({ ...request, constants: { workgroupSize: 64, activation: 3 } });
    expect(gpu().pipelines.size).toBe(before + 2);
  });

  it('reports compile errors with the kernel label and line:col in the family file', async () => {
    const broken = familyShader(
      'broken',
      'override workgroupSize: u32 = 64u;\n@compute @workgroup_size(workgroupSize)\nfn brokenForward() {\n  let a: f32 = 1u;\n}\n',
    );
    const err = await gpu()
      .pipelines.get({ shader: broken, entryPoint: 'brokenForward' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(String((err as Error).message)).toMatch(
      /^broken\.brokenForward: shader did not compile:\nbroken\.wgsl:4:\d+ /,
    );
  });

  it('reports source the reflector cannot parse with the compiler line:col too', async () => {
    const broken = familyShader(
      'unparsed',
      '@compute @workgroup_size(1)\nfn unparsedForward() {\n  let a = (1;\n}\n',
    );
    const err = await gpu()
      .pipelines.get({ shader: broken, entryPoint: 'unparsedForward' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(String((err as Error).message)).toMatch(
      /^unparsed\.unparsedForward: shader did not compile:\nunparsed\.wgsl:3:\d+ /,
    );
  });

  it('compiles an edited copy of a family (same name, other code) as its own pipeline', async () => {
    const x = upload(gpu(), [-1, 2], [2]);
    const y = upload(gpu(), [0, 0], [2]);
    const call = activationForward({ x, y, activation: 'relu' });
    // The edit: y = x instead of y = relu(x), so -1 stays -1.
    const file = activationShader.code.split('\n').slice(activationShader.prefixLines).join('\n');
    const edited = familyShader('activation', file.replace('activate(x[i], activation)', 'x[i]'));
    expect(edited.code).not.toBe(activationShader.code);
    await runCalls(gpu(), [call]);
    expect(Array.from(await readFloat32(gpu(), y))).toEqual([0, 2]);
    await runCalls(gpu(), [{ ...call, shader: edited }]);
    expect(Array.from(await readFloat32(gpu(), y))).toEqual([-1, 2]);
  });

  it('refuses a call that binds the wrong number of buffers', async () => {
    const x = upload(gpu(), [1, 2], [2]);
    const call = { ...activationForward({ x, y: x, activation: 'relu' }), tensors: [x] };
    await expect(runCalls(gpu(), [call])).rejects.toThrow(
      /binds 2 buffers, the shader declares 3 \(x, y, params\)/,
    );
  });
});

describe('dispatch grid', () => {
  it('spills past 65535 workgroups into y and covers every workgroup', () => {
    expect(grid1d(10)).toEqual([10, 1, 1]);
    expect(grid1d(65535)).toEqual([65535, 1, 1]);
    const [x, y] = grid1d(65536 * 3 + 1);
    expect(y).toBeGreaterThan(1);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(65536 * 3 + 1);
  });
});

describe('Params packing matches the WGSL struct of every registered kernel', () => {
  const cases = kernelFamilies.flatMap((f) =>
    Object.entries(f.entryPoints).map(([entry, layout]) => ({ family: f, entry, layout })),
  );
  it('has families registered', () => {
    expect(kernelFamilies.length).toBeGreaterThanOrEqual(1);
  });
  it.each(cases.map((c) => [`${c.family.name}.${c.entry}`, c] as const))(
    '%s',
    (_name, { family, entry, layout }) => {
      const reflect = reflectShader(family.shader);
      const fn = reflect.entry.compute.find((f) => f.name === entry);
      expect(fn, `entry point ${entry}`).toBeDefined();
      const uniforms = (fn?.resources ?? []).filter(
        (r) => r.group === 0 && r.resourceType === ResourceType.Uniform,
      );
      const expected = Object.entries(layout.fields).map(([name, type], i) => ({
        name,
        offset: i * 4,
        type,
      }));
      if (expected.length === 0) {
        expect(uniforms, 'an empty Params layout means no uniform binding').toHaveLength(0);
        return;
      }
      expect(uniforms).toHaveLength(1);
      const uniform = uniforms[0];
      const last = Math.max(
        ...(fn?.resources ?? []).filter((r) => r.group === 0).map((r) => r.binding),
      );
      expect(uniform?.binding, 'Params binds after the tensors').toBe(last);
      const members = (uniform?.members ?? []).map((m) => ({
        name: m.name,
        offset: m.offset,
        type: m.type.name,
      }));
      expect(members).toEqual(expected);
    },
  );
});
