// refresh.js: tuf-js (an independent TUF client) refreshes a repository the
// ceremony published, trusting only a pinned root, then looks up every
// target path it is given through the delegation walk.
//
// Usage: node refresh.js METADATA_DIR TRUSTED_ROOT TARGETS_JSON
//
// TARGETS_JSON is a JSON array of target paths. The result, on stdout, is
// one JSON object: the versions tuf-js trusts after the refresh and, for
// each path, the length and sha256 tuf-js resolved (null when it found no
// such target). Any refusal is an exception: exit 1 with its message.
//
// Offline: the fetcher reads files from METADATA_DIR; a missing file is
// tuf-js's DownloadHTTPError 404, which is how the root walk stops.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { Readable } = require('stream');
const { Updater, BaseFetcher } = require('tuf-js');
const { DownloadHTTPError } = require('tuf-js/dist/error');

const BASE = 'http://repository.invalid/metadata/';

class DirFetcher extends BaseFetcher {
  constructor(dir) {
    super();
    this.dir = dir;
  }
  async fetch(url) {
    if (!url.startsWith(BASE)) {
      throw new DownloadHTTPError(`not under ${BASE}: ${url}`, 404);
    }
    const name = decodeURIComponent(url.slice(BASE.length));
    if (name.includes('/') || name.startsWith('.')) {
      throw new DownloadHTTPError(`not a metadata file name: ${name}`, 404);
    }
    let bytes;
    try {
      bytes = fs.readFileSync(path.join(this.dir, name));
    } catch (e) {
      throw new DownloadHTTPError(`${name}: ${e.code}`, 404);
    }
    return Readable.from([bytes]);
  }
}

async function main() {
  const [metadataDir, trustedRoot, targetsFile] = process.argv.slice(2);
  if (!targetsFile) {
    throw new Error('usage: node refresh.js METADATA_DIR TRUSTED_ROOT TARGETS_JSON');
  }
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'tufjs-'));
  try {
    fs.copyFileSync(trustedRoot, path.join(cache, 'root.json'));
    const updater = new Updater({
      metadataDir: cache,
      metadataBaseUrl: BASE,
      fetcher: new DirFetcher(metadataDir),
    });
    await updater.refresh();
    const result = { targets: {} };
    for (const p of JSON.parse(fs.readFileSync(targetsFile, 'utf8'))) {
      const info = await updater.getTargetInfo(p);
      result.targets[p] = info ? { length: info.length, sha256: info.hashes.sha256 } : null;
    }
    const ts = updater.trustedSet;
    result.root_version = ts.root.signed.version;
    result.timestamp_version = ts.timestamp.signed.version;
    result.snapshot_version = ts.snapshot.signed.version;
    result.targets_version = ts.targets.signed.version;
    result.roles_loaded = Object.keys(ts.trustedSet).sort();
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`tuf-js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
