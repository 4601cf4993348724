/**
 * What parts run at once made, once every one has settled; when one failed, `undo` is given what the
 * others made before that failure goes on. Parts run side by side, so one failing leaves the others'
 * work done, and whoever tries again does it anew: left alone, it would stay (spans spilled to R2
 * under ids no message carries).
 */
export async function allOrUndone<T>(parts: Promise<T[]>[], undo: (made: T[]) => Promise<unknown>): Promise<T[]> {
  const settled = await Promise.allSettled(parts);
  const made = settled.flatMap((part) => (part.status === "fulfilled" ? part.value : []));
  const failed = settled.find((part) => part.status === "rejected");
  if (!failed) return made;
  await undo(made);
  throw failed.reason;
}
