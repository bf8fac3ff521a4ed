export const API_DOCS_DIR: string;
export function generateApiDocs(out: string, options?: { listUndocumented?: boolean }): Promise<void>;
export function readTree(dir: string): Record<string, string>;
export function staleApiDocs(generated: Record<string, string>, committed: Record<string, string>): string[];
