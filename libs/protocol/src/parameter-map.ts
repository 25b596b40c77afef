/**
 * Sets `map[key]` as an own, enumerable property. Parameter names come from clients, and a `"__proto__"`
 * name is data like any other: plain assignment would replace the map's prototype instead, and the
 * parameter would vanish (or, read back with `for...in`, turn into the fields of its own value).
 */
export function setParameter<T>(map: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}
