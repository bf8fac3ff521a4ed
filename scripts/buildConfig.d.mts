import type { BuildOptions } from 'esbuild';
export function newest(path: string): number;
export function serverBuildOptions(outfile: string): BuildOptions;
export const clientBuildOptions: BuildOptions;
export const compileHint: { js: string };
