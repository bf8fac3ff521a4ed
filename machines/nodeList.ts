// The nodes a client tries when its connection is lost (cluster mode): the node that welcomed it
// first, then the other live nodes its welcome listed, in the welcome's order. A client given a
// wss: URL never moves to a ws: one (its token would travel in clear), nor the reverse.

/** `own` first, then each listed URL that is not `own`, not repeated, and of `own`'s scheme. */
export function nodeList(own: string, listed: readonly string[] | undefined): string[] {
  const scheme = schemeOf(own);
  const nodes = [own];
  for (const url of listed ?? []) if (schemeOf(url) === scheme && !nodes.includes(url)) nodes.push(url);
  return nodes;
}

function schemeOf(url: string): string {
  return url.slice(0, url.indexOf(':') + 1).toLowerCase();
}
