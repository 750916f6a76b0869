/**
 * The pages of the site, listed once: Vite's build inputs, the static build's landing page and
 * the nav at the top of every page come from PAGES. Each page's HTML holds an empty
 * `<nav class="site"></nav>`; siteNavPlugin fills it (in `npm run dev` and in the build) with a
 * link to every page, relative to the page, the current one marked `aria-current="page"`. A page
 * without the placeholder fails the build, so a new page cannot forget the nav.
 */
import { posix } from 'node:path';
import type { Plugin } from 'vite';

export interface SitePage {
  /** The build input's name (dist/ keeps the folders). */
  id: string;
  /** The link's text. */
  name: string;
  /** The page's folder from the repository root, with a trailing slash; it holds index.html. */
  path: string;
  /** What the page is, for the link's tooltip and the landing page. */
  about: string;
}

export const PAGES: readonly SitePage[] = [
  { id: 'demo', name: 'Live training', path: 'demo/', about: 'a CNN learns MNIST live' },
  {
    id: 'playground',
    name: 'Playground',
    path: 'demo/playground/',
    about: 'a small MLP learns 2-D points',
  },
  {
    id: 'explorer',
    name: 'Kernel explorer',
    path: 'demo/explorer/',
    about: 'one WGSL kernel against its CPU twin',
  },
  {
    id: 'gpt',
    name: 'Transformer',
    path: 'demo/gpt/',
    about: 'a character-level GPT learns a text',
  },
  {
    id: 'bench',
    name: 'Benchmarks',
    path: 'bench/',
    about: 'kernels timed, and against TensorFlow.js',
  },
];

const PLACEHOLDER = '<nav class="site"></nav>';

/** The nav's links as seen from the page in folder `from` (e.g. 'demo/gpt/'); '' for the root. */
export function navLinks(from: string): string {
  return PAGES.map((p) => {
    const href = `${posix.relative(from, p.path) || '.'}/`;
    const current = p.path === from ? ' aria-current="page"' : '';
    return `<a href="${href}" title="${p.about}"${current}>${p.name}</a>`;
  }).join(' ');
}

/** Fills each page's `<nav class="site"></nav>` with the links to every page. */
export function siteNavPlugin(): Plugin {
  return {
    name: 'shadergrad-site-nav',
    transformIndexHtml(html, ctx) {
      // ctx.path is the page's URL path from the root: /demo/gpt/index.html.
      const from = posix.dirname(ctx.path).replace(/^\//, '');
      if (!html.includes(PLACEHOLDER))
        throw new Error(`${ctx.path} has no ${PLACEHOLDER} for the pages' nav`);
      const nav = `<nav class="site" aria-label="shadergrad pages">${navLinks(`${from}/`)}</nav>`;
      return html.replace(PLACEHOLDER, nav);
    },
  };
}
