#!/usr/bin/env sh
":" //; exec node -- "$0" "$@"
// The published `corral` command, read twice: by sh, then by node. Node (20 and later) scans its
// whole argv for --env-file, script arguments included, and exits 9 on a missing file or applies a
// NODE_OPTIONS line of it to corral itself; after a `--` it scans no further. So sh re-runs this
// file as `node -- <this file> <args>`: every argument reaches corral as typed (docs/adr/0501).
import "../dist/bin.js";
