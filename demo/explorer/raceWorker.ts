/**
 * The explorer's race-detector worker: interpreting a workgroup takes seconds on a big kernel, so
 * it runs here and the page stays responsive. One RaceInput in, one RaceFinding out.
 */
import { detectCallRaces, type RaceInput } from './raceCheck';

self.addEventListener('message', (e: MessageEvent<RaceInput>) => {
  self.postMessage(detectCallRaces(e.data));
});
