/**
 * The server name (SNI) a TLS ClientHello asks for, read from one whole handshake record; undefined
 * when the bytes are not a ClientHello or carry no server name. Only reads: never trusts lengths
 * past the buffer.
 */
export function readClientHelloServerName(record: Buffer): string | undefined {
  if (record.length < 5 || record[0] !== 0x16) return undefined;
  let at = 5;
  if (record[at] !== 0x01) return undefined; // ClientHello
  at += 4; // type, 3-byte length
  at += 2 + 32; // version, random
  if (at >= record.length) return undefined;
  at += 1 + record[at]!; // session id
  if (at + 2 > record.length) return undefined;
  at += 2 + record.readUInt16BE(at); // cipher suites
  if (at >= record.length) return undefined;
  at += 1 + record[at]!; // compression methods
  if (at + 2 > record.length) return undefined;
  const end = Math.min(record.length, at + 2 + record.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = record.readUInt16BE(at);
    const length = record.readUInt16BE(at + 2);
    at += 4;
    if (type === 0x0000 && at + 5 <= end) {
      // server_name: list length (2), name type (1, 0 = host_name), name length (2), name
      const nameLength = record.readUInt16BE(at + 3);
      if (record[at + 2] !== 0 || at + 5 + nameLength > end) return undefined;
      return record.subarray(at + 5, at + 5 + nameLength).toString("latin1");
    }
    at += length;
  }
  return undefined;
}
