#!/usr/bin/env node
// The `tfy-relay` command: runs scripts/cli.ts through tsx, so the CLI is the same TypeScript the tests check.
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
