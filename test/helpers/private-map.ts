// Each test's channels live in a map of its own; should a test fail half-way, the file's after()
// hook closes what it left open, so that no loop() keeps the process alive.
import { after } from "node:test";
import { type SocketMap, closeAll } from "../../src/index.js";

const maps: SocketMap[] = [];
let hooked = false;

/** A new map, closed (with everything left in it) when the calling test file ends. */
export function privateMap(): SocketMap {
  if (!hooked) {
    hooked = true;
    after(() => {
      for (const map of maps) closeAll(map, true);
    });
  }
  const map: SocketMap = new Map();
  maps.push(map);
  return map;
}
