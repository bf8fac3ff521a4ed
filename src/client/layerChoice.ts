// Which spatial layer a receiver asks for, from the size a video is shown at. A policy of its own,
// small and unit-tested (the adapter that watches the element is ElementAdapter.ts).

export interface Size {
  width: number;
  height: number;
}

/**
 * The size of each spatial layer, lowest first, from the size of a frame received at layer
 * `received` and the layers' scale factors (`scaleResolutionDownBy`, lowest layer first).
 */
export function layerSizes(frame: Size, received: number, scales: readonly number[]): Size[] {
  const full = scales[received] ?? 1;
  return scales.map((scale) => ({ width: (frame.width * full) / scale, height: (frame.height * full) / scale }));
}

/**
 * The smallest layer whose frames cover `box` (CSS pixels × `pixelRatio`) where the video is drawn
 * fitted inside it (`object-fit: contain`, a video element's default); the top layer when none does.
 */
export function coveringLayer(box: Size, pixelRatio: number, layers: readonly Size[]): number {
  const top = layers.length - 1;
  const aspect = layers[top] ? layers[top].width / layers[top].height : 1;
  // The drawn video's width: the box's, or narrower when the box is taller than the video's shape.
  const needed = Math.min(box.width, box.height * aspect) * pixelRatio;
  // Half a pixel of slack: 1280 / 4 is 320 exactly, a layer computed as 319.99 still covers 320.
  const index = layers.findIndex((layer) => layer.width + 0.5 >= needed);
  return index === -1 ? top : index;
}
