import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replaces `path` with `data` so that a crash at any moment leaves either the old or the new
 * file, never a torn one: write a temporary file in the same directory (same filesystem, so the
 * rename is atomic), fsync it, rename it over the target, then fsync the directory so the rename
 * itself survives a power loss. One writer per path (the store serializes its writes), so a
 * fixed temporary name is enough and a leftover from a crash is simply overwritten.
 */
export async function writeFileAtomic(path: string, data: string | Iterable<string>): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    if (typeof data === 'string') await handle.writeFile(data, 'utf8');
    // Chunk by chunk: each await gives the event loop back while the kernel takes the bytes.
    else for (const chunk of data) await handle.write(chunk, null, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  await syncDirectory(dirname(path));
}

async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
