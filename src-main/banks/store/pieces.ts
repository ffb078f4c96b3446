import { eachLimit } from '../../engine/each-limit';

/** How a list is cut into pieces: about `average` items each, never more than `max`. */
export interface PieceSize {
  /** A power of two. */
  average: number;
  max: number;
}

/** FNV-1a of a string: cheap, and stable across runs and platforms. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Cuts a list into pieces at items chosen by their key alone (content-defined, like chunks), so
 * adding, removing or changing an item changes only the piece holding it and the others keep
 * their bytes, and dedup: a large checkpoint's index or chunk list costs a few small new pieces
 * per checkpoint instead of one whole new copy.
 */
export function splitPieces<T>(items: readonly T[], keyOf: (item: T) => string, size: PieceSize): T[][] {
  const out: T[][] = [];
  let piece: T[] = [];
  for (const item of items) {
    piece.push(item);
    if ((fnv1a(keyOf(item)) & (size.average - 1)) === 0 || piece.length >= size.max) {
      out.push(piece);
      piece = [];
    }
  }
  if (piece.length) out.push(piece);
  return out;
}

/** Stores each piece as JSON through `store`; returns what `store` returned for each, in order. */
export async function storePieces<T, M>(
  items: readonly T[],
  keyOf: (item: T) => string,
  size: PieceSize,
  store: (json: Buffer) => Promise<M>,
): Promise<M[]> {
  const pieces = splitPieces(items, keyOf, size);
  const out: M[] = new Array<M>(pieces.length);
  await eachLimit(
    pieces.map((p, i) => ({ p, i })),
    8,
    async ({ p, i }) => {
      out[i] = await store(Buffer.from(JSON.stringify(p)));
    },
  );
  return out;
}

/** The items of pieces stored by {@link storePieces}, in order. */
export async function loadPieces<T, M>(pieces: readonly M[], read: (piece: M) => Promise<Buffer>): Promise<T[]> {
  const parts: T[][] = new Array<T[]>(pieces.length);
  await eachLimit(
    pieces.map((p, i) => ({ p, i })),
    8,
    async ({ p, i }) => {
      parts[i] = JSON.parse((await read(p)).toString('utf8')) as T[];
    },
  );
  return parts.flat();
}
