import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bytesEqual } from '../../functions/journal/bytes.ts';
import { signCheckpoint } from '../../functions/journal/checkpoint.ts';
import { localEd25519Signer } from '../../functions/journal/local-signer.ts';
import { tilePath } from '../../functions/journal/tiles.ts';
import { type JournalKey, loadOrCreateJournalKey } from '../../functions/local/journal-key.ts';
import {
  type CheckpointMirror,
  MirrorConsistencyError,
  mirrorLatestCheckpoint,
  type PublishedCheckpoints,
} from '../../functions/store/checkpoint-mirror.ts';
import { CheckpointsRepository } from '../../functions/store/checkpoints.repository.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { JournalTreeRepository } from '../../functions/store/journal-tree.repository.ts';
import type { PublishedTiles } from '../../functions/store/tile-mirror.ts';
import { testEntry } from '../support/journal-entries.ts';
import { freshTables } from '../support/tables.ts';

const ORIGIN = 'claimledger.test/mirror';

const entry = testEntry;

/**
 * The bucket's behaviour, in memory: `checkpoints/<size>` is write-once, `checkpoint` is
 * replaced; tiles (write-once) are kept apart in `tiles`.
 */
function memoryBucket(): PublishedCheckpoints &
  PublishedTiles & { objects: Map<string, string>; tiles: Map<string, Uint8Array> } {
  const objects = new Map<string, string>();
  const tiles = new Map<string, Uint8Array>();
  return {
    objects,
    tiles,
    has: async (tile) => tiles.has(tilePath(tile)),
    async put(tile, bytes) {
      const existing = tiles.get(tilePath(tile));
      if (existing !== undefined && !bytesEqual(existing, bytes))
        throw new MirrorConsistencyError('different tile');
      tiles.set(tilePath(tile), bytes);
    },
    current: async () => objects.get('checkpoint') ?? null,
    async putVersion(size, note) {
      const existing = objects.get(`checkpoints/${size}`);
      if (existing !== undefined && existing !== note) throw new MirrorConsistencyError('already published');
      objects.set(`checkpoints/${size}`, note);
    },
    async putCurrent(note) {
      objects.set('checkpoint', note);
    },
  };
}

describe('publishing checkpoints to the mirror, against DynamoDB Local', () => {
  let journal: JournalRepository;
  let tree: JournalTreeRepository;
  let checkpoints: CheckpointsRepository;
  let key: JournalKey;
  let stateDir: string;
  let bucket: ReturnType<typeof memoryBucket>;
  let next = 0;

  const mirror = (): CheckpointMirror => ({
    checkpoints,
    tree,
    published: bucket,
    tiles: bucket,
    verifierKey: key.verifierKey,
    origin: ORIGIN,
  });

  /** Appends `count` entries, integrates them and signs a checkpoint, as the integrator does. */
  async function grow(count: number): Promise<number> {
    for (let i = 0; i < count; i++, next++) await journal.append(`k${next}`, entry(next));
    await tree.integrateAll();
    return (await checkpoints.publishCheckpoint(key.signer, ORIGIN)).size;
  }

  beforeAll(async () => {
    const tables = await freshTables();
    journal = new JournalRepository(tables.doc, tables.names.journal);
    tree = new JournalTreeRepository(tables.doc, tables.names.journal, journal);
    checkpoints = new CheckpointsRepository(tables.doc, tables.names.journal, tree);
    stateDir = mkdtempSync(join(tmpdir(), 'mirror-key-'));
    key = loadOrCreateJournalKey(stateDir, ORIGIN);
  });
  beforeEach(() => {
    bucket = memoryBucket();
  });
  afterAll(() => {
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('publishes nothing before the first checkpoint', async () => {
    expect(await mirrorLatestCheckpoint(mirror())).toEqual({ status: 'empty' });
    expect(bucket.objects.size).toBe(0);
  });

  it('publishes the newest checkpoint as checkpoint and checkpoints/<size>, then extends it consistently', async () => {
    const first = await grow(5);
    expect(await mirrorLatestCheckpoint(mirror())).toEqual({
      status: 'published',
      size: first,
      previousSize: null,
      tiles: 1,
    });
    const note = (await checkpoints.latest())!.note;
    expect(bucket.objects.get('checkpoint')).toBe(note);
    expect(bucket.objects.get(`checkpoints/${first}`)).toBe(note);

    expect(await mirrorLatestCheckpoint(mirror())).toEqual({ status: 'unchanged', size: first, tiles: 0 });

    const second = await grow(37);
    expect(await mirrorLatestCheckpoint(mirror())).toEqual({
      status: 'published',
      size: second,
      previousSize: first,
      tiles: 1,
    });
    expect(bucket.objects.get('checkpoint')).toBe((await checkpoints.latest())!.note);
    expect([...bucket.objects.keys()].sort()).toEqual(
      ['checkpoint', `checkpoints/${first}`, `checkpoints/${second}`].sort(),
    );
    // Both trees fit in the first level-0 tile: one partial tile per published size.
    expect([...bucket.tiles.keys()]).toEqual([`tile/0/000.p/${first}`, `tile/0/000.p/${second}`]);
  });

  it('refuses a tree that does not extend the published one (a fork), publishing nothing', async () => {
    const size = await grow(3);
    // A checkpoint the log key did sign, but of a different history of a smaller size.
    const forked = await signCheckpoint(
      { origin: ORIGIN, size: size - 2, rootHash: new Uint8Array(32).fill(7) },
      key.signer,
    );
    bucket.objects.set('checkpoint', forked);
    await expect(mirrorLatestCheckpoint(mirror())).rejects.toThrow(MirrorConsistencyError);
    await expect(mirrorLatestCheckpoint(mirror())).rejects.toThrow(/not consistent/);
    expect(bucket.objects.get('checkpoint')).toBe(forked);
    expect(bucket.objects.size).toBe(1);
    expect(bucket.tiles.size).toBe(0);
  });

  it('refuses two roots for one size, and a rollback to a smaller tree', async () => {
    const size = await grow(1);
    const sameSize = await signCheckpoint(
      { origin: ORIGIN, size, rootHash: new Uint8Array(32).fill(1) },
      key.signer,
    );
    bucket.objects.set('checkpoint', sameSize);
    await expect(mirrorLatestCheckpoint(mirror())).rejects.toThrow(/two different roots/);

    const larger = await signCheckpoint(
      { origin: ORIGIN, size: size + 10, rootHash: new Uint8Array(32) },
      key.signer,
    );
    bucket.objects.set('checkpoint', larger);
    await expect(mirrorLatestCheckpoint(mirror())).rejects.toThrow(/older than the published one/);
  });

  it('refuses checkpoints that do not verify under the log key', async () => {
    await grow(1);
    const stranger = localEd25519Signer(ORIGIN, new Uint8Array(32).fill(9));
    bucket.objects.set(
      'checkpoint',
      await signCheckpoint({ origin: ORIGIN, size: 1, rootHash: new Uint8Array(32) }, stranger),
    );
    await expect(mirrorLatestCheckpoint(mirror())).rejects.toThrow(/published checkpoint does not verify/);

    bucket = memoryBucket();
    const otherKey = {
      ...mirror(),
      verifierKey: loadOrCreateJournalKey(mkdtempSync(join(stateDir, 'other-')), ORIGIN).verifierKey,
    };
    await expect(mirrorLatestCheckpoint(otherKey)).rejects.toThrow(
      /newest stored checkpoint does not verify/,
    );
    expect(bucket.objects.size).toBe(0);
    expect(bucket.tiles.size).toBe(0);
  });
});
