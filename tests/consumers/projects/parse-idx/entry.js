// Imports one parser and nothing else: with sideEffects: false, no kernel or shader may remain.
import { parseIdx } from 'shadergrad';
console.log(parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 7]), 'one byte').data[0]);
