// Publishing C2SP tlog-tiles with the checkpoints, against DynamoDB Local, into a directory laid
// out exactly like the bucket (S3 cannot run here; the directory keeps S3's write-once
// semantics with O_EXCL, and the S3 adapter's handling of S3's answers is unit-tested). Then an
// auditor, holding only the log's verifier key, the published objects and the entries someone
// showed them, checks inclusion and consistency without the API.

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual, utf8Encode } from '../../functions/journal/bytes.ts';
import { type Checkpoint, openCheckpoint } from '../../functions/journal/checkpoint.ts';
import { leafHash } from '../../functions/journal/entry.ts';
import { consistencyProof, inclusionProof, rootAt } from '../../functions/journal/merkle.ts';
import {
  decodeTile,
  parseTilePath,
  type Tile,
  tilePath,
  tilesToPublish,
} from '../../functions/journal/tiles.ts';
import { ProofError, verifyConsistency, verifyInclusion } from '../../functions/journal/verify.ts';
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
import { journalGrower } from '../support/journal-entries.ts';
import { freshTables } from '../support/tables.ts';
import { tileNodeReader } from '../support/tile-auditor.ts';

const ORIGIN = 'claimledger.test/tiles';

type Bucket = PublishedCheckpoints &
  PublishedTiles & { writes: string[]; failOn?: ((key: string) => boolean) | undefined };

/**
 * The checkpoint bucket as a directory: `checkpoints/<size>` and tiles are created with O_EXCL
 * (like If-None-Match: *) and an existing object is accepted only with the same bytes;
 * `checkpoint` is replaced atomically. `writes` logs every object written; `failOn` fails a write.
 */
function directoryBucket(root: string): Bucket {
  const bucket: Bucket = {
    writes: [],
    async current() {
      const path = join(root, 'checkpoint');
      return existsSync(path) ? readFileSync(path, 'utf8') : null;
    },
    putVersion: async (size, note) => writeOnce(`checkpoints/${size}`, utf8Encode(note)),
    async putCurrent(note) {
      write('checkpoint');
      writeFileSync(join(root, 'checkpoint.tmp'), note);
      renameSync(join(root, 'checkpoint.tmp'), join(root, 'checkpoint'));
    },
    has: async (tile) => existsSync(join(root, tilePath(tile))),
    put: async (tile, bytes) => writeOnce(tilePath(tile), bytes),
  };
  function write(key: string): void {
    if (bucket.failOn?.(key)) throw new Error(`connection reset writing ${key}`);
    bucket.writes.push(key);
  }
  function writeOnce(key: string, bytes: Uint8Array): void {
    write(key);
    const path = join(root, key);
    mkdirSync(dirname(path), { recursive: true });
    try {
      writeFileSync(path, bytes, { flag: 'wx' });
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!bytesEqual(new Uint8Array(readFileSync(path)), bytes)) {
        throw new MirrorConsistencyError(`a different object is already published at ${key}`);
      }
    }
  }
  return bucket;
}

/** Every object under `root`, as bucket keys. */
function listObjects(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

const tileKeys = (tiles: Tile[]) => tiles.map(tilePath);

describe('publishing tiles with the checkpoints, against DynamoDB Local', () => {
  let journal: JournalRepository;
  let tree: JournalTreeRepository;
  let checkpoints: CheckpointsRepository;
  let key: JournalKey;
  let work: string;
  let bucketDir: string;
  let bucket: Bucket;
  let grow: (size: number) => Promise<void>;

  const mirror = (published: Bucket = bucket): CheckpointMirror => ({
    checkpoints,
    tree,
    published,
    tiles: published,
    verifierKey: key.verifierKey,
    origin: ORIGIN,
  });

  /** Publishes the latest checkpoint to `published`, whose `writes` then list this publication's. */
  const publish = (published: Bucket = bucket) => {
    published.writes.length = 0;
    return mirrorLatestCheckpoint(mirror(published));
  };

  /** Appends entries up to `size` (8 writers), integrates them and signs a checkpoint. */
  async function growTo(size: number): Promise<number> {
    await grow(size);
    await tree.integrateAll();
    return (await checkpoints.publishCheckpoint(key.signer, ORIGIN)).size;
  }

  /**
   * The auditor: only the verifier key, the objects in `dir` and the entries it was shown
   * (`shown`, by index). Checks every published checkpoint's root from the tiles, consistency
   * between consecutive published checkpoints, and inclusion of the shown entries in each.
   * `fetch` may be swapped to model a tampered download. Returns the published sizes.
   */
  async function audit(
    dir: string,
    shown: Map<number, string>,
    fetch: (path: string) => Promise<Uint8Array> = async (path) =>
      new Uint8Array(readFileSync(join(dir, path))),
  ): Promise<number[]> {
    const open = (note: string): Checkpoint =>
      openCheckpoint(note, key.verifierKey, { origin: ORIGIN }).checkpoint;
    const published = readdirSync(join(dir, 'checkpoints'))
      .map((name) => open(readFileSync(join(dir, 'checkpoints', name), 'utf8')))
      .sort((a, b) => a.size - b.size);
    expect(open(readFileSync(join(dir, 'checkpoint'), 'utf8')).size).toBe(published.at(-1)!.size);
    for (const [i, checkpoint] of published.entries()) {
      const { read } = tileNodeReader(checkpoint.size, fetch);
      expect(
        bytesEqual(await rootAt(checkpoint.size, read), checkpoint.rootHash),
        `root ${checkpoint.size}`,
      ).toBe(true);
      const previous = published[i - 1];
      if (previous) {
        const proof = await consistencyProof(previous.size, checkpoint.size, read);
        verifyConsistency(previous.size, checkpoint.size, proof, previous.rootHash, checkpoint.rootHash);
      }
      for (const [index, entry] of shown) {
        if (index >= checkpoint.size) continue;
        const proof = await inclusionProof(index, checkpoint.size, read);
        verifyInclusion(leafHash(utf8Encode(entry)), index, checkpoint.size, proof, checkpoint.rootHash);
      }
    }
    return published.map((checkpoint) => checkpoint.size);
  }

  /** Entries as an auditor is shown them (a receipt, an export): index → canonical JSON. */
  async function show(indices: number[]): Promise<Map<number, string>> {
    const entries = await journal.entries(indices);
    return new Map(entries.map((entry) => [entry.index, entry.entry]));
  }

  beforeAll(async () => {
    const tables = await freshTables();
    journal = new JournalRepository(tables.doc, tables.names.journal);
    grow = journalGrower(journal, 't');
    tree = new JournalTreeRepository(tables.doc, tables.names.journal, journal);
    checkpoints = new CheckpointsRepository(tables.doc, tables.names.journal, tree);
    work = mkdtempSync(join(tmpdir(), 'tiles-'));
    key = loadOrCreateJournalKey(join(work, 'key'), ORIGIN);
    bucketDir = join(work, 'bucket');
    mkdirSync(bucketDir);
    bucket = directoryBucket(bucketDir);
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('publishes tiles before each checkpoint; the bucket alone proves inclusion and consistency', async () => {
    expect(await growTo(200)).toBe(200);
    expect(await publish()).toEqual({
      status: 'published',
      size: 200,
      previousSize: null,
      tiles: 1,
    });
    expect(bucket.writes).toEqual(['tile/0/000.p/200', 'checkpoints/200', 'checkpoint']);

    // The tree grows across the 256 and 512 boundaries: two level-0 tiles become full.
    expect(await growTo(520)).toBe(520);
    expect(await publish()).toEqual({
      status: 'published',
      size: 520,
      previousSize: 200,
      tiles: 4,
    });
    // Tiles first (top level down), then the checkpoint: never a checkpoint before its tiles.
    expect(bucket.writes).toEqual([
      'tile/1/000.p/2',
      'tile/0/000',
      'tile/0/001',
      'tile/0/002.p/8',
      'checkpoints/520',
      'checkpoint',
    ]);

    // Exactly the checkpoints and the tiles of both sizes; no entry bundles (PHI).
    expect(listObjects(bucketDir)).toEqual(
      [
        'checkpoint',
        'checkpoints/200',
        'checkpoints/520',
        ...tileKeys(tilesToPublish(0, 200)),
        ...tileKeys(tilesToPublish(200, 520)),
      ].sort(),
    );
    expect(listObjects(bucketDir).some((object) => object.startsWith('tile/entries'))).toBe(false);

    // Each tile holds what the tree stores.
    for (const object of listObjects(bucketDir).filter((o) => o.startsWith('tile/'))) {
      const tile = parseTilePath(object);
      const hashes = decodeTile(tile, new Uint8Array(readFileSync(join(bucketDir, object))));
      expect(
        hashes.map((h) => Buffer.from(h).toString('hex')),
        object,
      ).toEqual((await tree.tileHashes(tile)).map((h) => Buffer.from(h).toString('hex')));
    }

    const shown = await show([0, 1, 199, 255, 256, 300, 511, 512, 519]);
    expect(await audit(bucketDir, shown)).toEqual([200, 520]);

    // The proofs an auditor computes from tiles are the ones the API serves.
    const { read } = tileNodeReader(520, async (path) => new Uint8Array(readFileSync(join(bucketDir, path))));
    for (const index of [0, 300, 519]) {
      expect(await inclusionProof(index, 520, read)).toEqual(await tree.inclusionProof(index, 520));
    }
    expect(await consistencyProof(200, 520, read)).toEqual(await tree.consistencyProof(200, 520));
  }, 120_000);

  it('lets an auditor catch a tampered tile or a wrong entry', async () => {
    const shown = await show([300]);
    const tampered = async (path: string) => {
      const bytes = new Uint8Array(readFileSync(join(bucketDir, path)));
      if (path === 'tile/0/001') bytes[5 * 32]! ^= 1;
      return bytes;
    };
    // Leaf 300 is hash 44 of tile/0/001; hash 5 of the same tile is in its inclusion proof.
    await expect(audit(bucketDir, shown, tampered)).rejects.toThrow(ProofError);
    const edited = new Map([[300, (shown.get(300) ?? '').replace('"n":', '"n":1')]]);
    await expect(audit(bucketDir, edited)).rejects.toThrow(/inclusion proof for leaf 300/);
  });

  it('writes nothing new when publishing the same size again', async () => {
    const before = new Map(listObjects(bucketDir).map((o) => [o, readFileSync(join(bucketDir, o))]));
    expect(await publish()).toEqual({ status: 'unchanged', size: 520, tiles: 0 });
    expect(bucket.writes).toEqual([]);
    expect(new Map(listObjects(bucketDir).map((o) => [o, readFileSync(join(bucketDir, o))]))).toEqual(before);
  });

  it('leaves a consistent bucket when a publish fails half-way, and a retry completes it', async () => {
    expect(await growTo(800)).toBe(800);
    const expected = tileKeys(tilesToPublish(520, 800));
    expect(expected).toEqual(['tile/1/000.p/3', 'tile/0/002', 'tile/0/003.p/32']);
    const shown = await show([0, 519, 520, 767, 768, 799]);

    // Fails writing the last tile: the first two are out, the checkpoint is not.
    bucket.failOn = (object) => object === 'tile/0/003.p/32';
    await expect(publish()).rejects.toThrow('connection reset');
    expect(bucket.writes).toEqual(['tile/1/000.p/3', 'tile/0/002']);
    expect(existsSync(join(bucketDir, 'checkpoints/800'))).toBe(false);
    expect(await audit(bucketDir, shown)).toEqual([200, 520]);

    // Fails after the tiles, writing the checkpoint's own copy: still the old checkpoint.
    bucket.failOn = (object) => object === 'checkpoints/800';
    await expect(publish()).rejects.toThrow('connection reset');
    expect(await audit(bucketDir, shown)).toEqual([200, 520]);

    // Fails replacing `checkpoint`: checkpoints/800 is out with its tiles, `checkpoint` is 520.
    bucket.failOn = (object) => object === 'checkpoint';
    await expect(publish()).rejects.toThrow('connection reset');
    expect(existsSync(join(bucketDir, 'checkpoints/800'))).toBe(true);

    bucket.failOn = undefined;
    expect(await publish()).toEqual({
      status: 'published',
      size: 800,
      previousSize: 520,
      tiles: 3,
    });
    expect(bucket.writes).toEqual([...expected, 'checkpoints/800', 'checkpoint']);
    expect(await audit(bucketDir, shown)).toEqual([200, 520, 800]);
    expect(listObjects(bucketDir).filter((o) => o.startsWith('tile/'))).toEqual(
      [...tileKeys(tilesToPublish(0, 200)), ...tileKeys(tilesToPublish(200, 520)), ...expected].sort(),
    );
  }, 120_000);

  it('publishes every tile once for a bucket whose checkpoint predates tiles', async () => {
    const legacyDir = join(work, 'legacy');
    mkdirSync(join(legacyDir, 'checkpoints'), { recursive: true });
    for (const object of ['checkpoint', 'checkpoints/520', 'checkpoints/800']) {
      writeFileSync(join(legacyDir, object), readFileSync(join(bucketDir, object)));
    }
    const legacy = directoryBucket(legacyDir);
    expect(await publish(legacy)).toEqual({
      status: 'unchanged',
      size: 800,
      tiles: tilesToPublish(0, 800).length,
    });
    // The tiles of 800 now prove everything about 800 (520's own partial tiles are gone for good).
    rmSync(join(legacyDir, 'checkpoints/520'));
    expect(await audit(legacyDir, await show([0, 400, 799]))).toEqual([800]);
    expect(await publish(legacy)).toEqual({
      status: 'unchanged',
      size: 800,
      tiles: 0,
    });
    expect(legacy.writes).toEqual([]);
  });
});
