#!/usr/bin/env node
// The `xlmr` command (see `xlmr --help`).
import { main } from '../js/cli.js';

process.exitCode = await main(process.argv.slice(2));
