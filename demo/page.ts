/**
 * What every demo page needs: its elements, checked by type, and WebGPU: the device, or a banner
 * that says why there is none and what to use instead (a page never fails silently without it).
 * A page that trains in a worker asks the worker for the adapter and uses the banner helpers.
 */
import { initDevice, type AdapterSummary, type Gpu } from './api';

/** The page's element #id, which must be a `type`; otherwise an error naming the page. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`${location.pathname} has no #${id} ${type.name}`);
  return e;
}

export interface WebgpuElements {
  /** The banner (hidden until needed) that explains a missing WebGPU. */
  banner: HTMLElement;
  /** A line naming the adapter found. */
  adapter: HTMLElement;
}

/** What a page says when it has no WebGPU: `consequence` first, then `reason` and what to use. */
export function showNoWebgpu(page: WebgpuElements, consequence: string, reason: string): void {
  page.banner.textContent =
    `WebGPU is not available, so ${consequence}. ${reason} ` +
    'Use a recent Chrome or Edge (113+) with hardware acceleration on, served from http://localhost or https.';
  page.banner.hidden = false;
  page.adapter.textContent = 'No WebGPU adapter.';
}

/** Names the adapter found (on this page or in its worker). */
export function showAdapter(page: WebgpuElements, a: AdapterSummary): void {
  page.adapter.textContent = `GPU: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')} (${a.kind})`;
}

/** The reason a page cannot even try WebGPU, or undefined when navigator.gpu is there. */
export function webgpuMissing(): string | undefined {
  return 'gpu' in navigator ? undefined : 'This browser does not expose WebGPU (navigator.gpu).';
}

/**
 * The page's GPU; without one, fills and shows the banner ("WebGPU is not available, so
 * <consequence>. <reason> Use ...") and resolves to undefined.
 */
export async function openGpu(page: WebgpuElements, consequence: string): Promise<Gpu | undefined> {
  let reason = webgpuMissing();
  if (reason === undefined) {
    try {
      const gpu = await initDevice();
      showAdapter(page, gpu.adapter);
      return gpu;
    } catch (e) {
      reason = e instanceof Error ? e.message : String(e);
    }
  }
  showNoWebgpu(page, consequence, reason);
  return undefined;
}
