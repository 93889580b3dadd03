import zlib from 'zlib';
import {
  adler32,
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FrameReader,
  FrameType,
  HEADER_DICTIONARY,
  HEADER_DICTIONARY_ADLER32,
  HeaderDeflater,
  HeaderInflater,
  SpdyProtocolError,
  SpdySession,
  SpdyStream,
} from './spdy';

/** Compresses blocks the way Go's SPDY framer does: one zlib stream with the dictionary, a sync flush per block. */
async function goStyleCompress(blocks: Buffer[]): Promise<Buffer[]> {
  const deflate = zlib.createDeflate({ dictionary: HEADER_DICTIONARY, level: 9 });
  const out: Buffer[] = [];
  for (const block of blocks) {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    deflate.on('data', onData);
    deflate.write(block);
    await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    await new Promise((resolve) => setImmediate(resolve));
    deflate.off('data', onData);
    out.push(Buffer.concat(chunks));
  }
  deflate.close();
  return out;
}

function pair(): { client: SpdySession; server: SpdySession; streams: SpdyStream[] } {
  const peer: { server?: SpdySession } = {};
  const client = new SpdySession({
    server: false,
    write: (bytes, done) => {
      setImmediate(() => peer.server!.receive(bytes));
      done?.();
    },
  });
  const server = (peer.server = new SpdySession({
    server: true,
    write: (bytes, done) => {
      setImmediate(() => client.receive(bytes));
      done?.();
    },
  }));
  const streams: SpdyStream[] = [];
  server.on('stream', (stream: SpdyStream) => {
    streams.push(stream);
    stream.reply();
  });
  return { client, server, streams };
}

/** Reads to the end without destroying the stream (a for-await loop would, and a Duplex has a writable side too). */
function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

describe('SPDY header compression', () => {
  it('has the draft dictionary: 1423 bytes, Adler-32 e3c6a7c2', () => {
    expect(HEADER_DICTIONARY.length).toBe(1423);
    expect(HEADER_DICTIONARY_ADLER32.toString(16)).toBe('e3c6a7c2');
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398);
  });

  it('encodes and decodes header blocks, multi-valued headers joined by NUL', () => {
    const block = encodeHeaderBlock({ StreamType: 'data', port: '8080', multi: ['a', 'b'] });
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: ['data'], port: ['8080'], multi: ['a', 'b'] });
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 1))).toThrow(SpdyProtocolError);
    expect(() => decodeHeaderBlock(Buffer.concat([block, Buffer.from([0])]))).toThrow(/trailing/);
  });

  it('inflates a connection of blocks compressed against the dictionary with sync flushes', async () => {
    const blocks = [
      encodeHeaderBlock({ streamtype: 'error', port: '8080', requestid: '0' }),
      encodeHeaderBlock({ streamtype: 'data', port: '8080', requestid: '0' }),
      encodeHeaderBlock({}),
      encodeHeaderBlock({ streamtype: 'data', port: '8080', requestid: '1', big: 'x'.repeat(50_000) }),
      encodeHeaderBlock({ streamtype: 'data', port: '8080', requestid: '2' }),
    ];
    const compressed = await goStyleCompress(blocks);
    const inflater = new HeaderInflater();
    for (let i = 0; i < blocks.length; i++) expect(inflater.inflate(compressed[i])).toEqual(blocks[i]);
  });

  it('refuses a stream compressed against another dictionary', async () => {
    const deflate = zlib.deflateSync(Buffer.from('x'), {
      dictionary: Buffer.from('another'),
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    expect(() => new HeaderInflater().inflate(deflate)).toThrow(/unknown compression dictionary/);
    expect(() => new HeaderInflater().inflate(Buffer.from([1, 2, 3]))).toThrow(/zlib stream/);
  });

  it('deflates into stored blocks that any zlib reader takes, across blocks and above 64 KiB', () => {
    const deflater = new HeaderDeflater();
    const blocks = [encodeHeaderBlock({}), encodeHeaderBlock({ a: 'y'.repeat(70_000) }), Buffer.alloc(0)];
    const stream = Buffer.concat(blocks.map((b) => deflater.deflate(b)));
    const inflated = zlib.inflateSync(stream, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    expect(inflated).toEqual(Buffer.concat(blocks));
    // Each block ends as a sync flush does (Go's inflater hands out data only at such a boundary).
    expect(deflater.deflate(encodeHeaderBlock({})).subarray(-5)).toEqual(Buffer.from([0, 0, 0, 0xff, 0xff]));
  });
});

describe('SPDY frames', () => {
  it('reads frames split anywhere and concatenated', () => {
    const bytes = Buffer.concat([
      controlFrame(FrameType.Ping, 0, Buffer.from([0, 0, 0, 1])),
      dataFrame(3, 1, Buffer.from('hello')),
    ]);
    const reader = new FrameReader();
    const frames = [...bytes].flatMap((byte) => reader.push(Buffer.from([byte])));
    expect(frames).toEqual([
      { kind: 'control', version: 3, type: FrameType.Ping, flags: 0, payload: Buffer.from([0, 0, 0, 1]) },
      { kind: 'data', streamId: 3, flags: 1, data: Buffer.from('hello') },
    ]);
  });
});

describe('SPDY sessions', () => {
  it('opens streams with headers, replies, carries data both ways and half-closes', async () => {
    const { client, streams } = pair();
    const stream = client.openStream({ streamtype: 'data', port: '80' });
    const replied = new Promise((resolve) => stream.once('reply', resolve));
    stream.end('ping');
    await replied;
    expect(streams).toHaveLength(1);
    const remote = streams[0];
    expect(remote.id).toBe(1);
    expect(remote.header('StreamType')).toBe('data');
    expect(await readAll(remote)).toBe('ping');
    remote.end('pong');
    expect(await readAll(stream)).toBe('pong');
  });

  it('answers pings and delivers resets', async () => {
    const { client, streams } = pair();
    await client.ping();
    const stream = client.openStream({ streamtype: 'error' });
    await new Promise((resolve) => stream.once('reply', resolve));
    const closed = new Promise((resolve) => streams[0].once('close', resolve));
    stream.resetStream();
    await closed;
    expect(streams[0].destroyed).toBe(true);
  });

  it('a stream opened with FIN is already ended on the other side; ids go up by two', async () => {
    const { client, streams } = pair();
    const first = client.openStream({ streamtype: 'error' }, { fin: true });
    const second = client.openStream({ streamtype: 'data' });
    await new Promise((resolve) => second.once('reply', resolve));
    expect([first.id, second.id]).toEqual([1, 3]);
    expect(await readAll(streams[0])).toBe('');
  });

  it('reports garbage as a protocol error and closes', async () => {
    const server = new SpdySession({ server: true, write: () => undefined });
    const errors: Error[] = [];
    server.on('error', (error: Error) => errors.push(error));
    server.receive(controlFrame(FrameType.SynStream, 0, Buffer.alloc(12, 7)));
    expect(errors[0]).toBeInstanceOf(SpdyProtocolError);
    expect(server.closed).toBe(true);
  });
});
