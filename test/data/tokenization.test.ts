/**
 * Golden tokenization tables (STYLE.md ladder, step 7): for real documents and each tokenizer
 * (bert-base-cased, scibert_scivocab_cased, roberta-base), the exact token strings, ids and
 * mention marker positions, against test/fixtures/data/tokenization.json, which an independent
 * Python port of BERT WordPiece / GPT-2 BPE and of ATLOP's `read_docred` produced
 * (gen_tokenization.py). Also: tokenizer loading (bundled, built from vocab files), special
 * tokens, added-marker mode, truncation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import {
  Featurizer,
  HFTokenizer,
  buildTokenizerJSON,
  bundledAssetPath,
  loadBundledTokenizer,
  readBioDataFile,
  readDocRED,
  type BundledTokenizer,
  type DocREDDocument,
  type MarkerStyle,
  type TokenizerLike,
} from '../../src/data/index.js';
import { loadFixture } from '../helpers.js';
import { right, left, sharedData } from './helpers.js';

interface GoldenCase {
  tokenizer: BundledTokenizer;
  source: 're-docred' | 'cdr';
  document: number;
  title: string;
  markers: MarkerStyle;
  tokens: string[];
  ids: number[];
  mentionStart: number[][];
  mentionEnd: number[][];
  atlopEntityPos?: [number, number][][];
}

const golden = await loadFixture<{ cases: GoldenCase[] }>('data/tokenization.json');
const redocred = right(readDocRED(readFileSync(bundledAssetPath('re-docred/dev_revised.json'), 'utf8')));
const cdr = right(
  readDocRED(readFileSync(sharedData('cdr/docred-format/dev.json'), 'utf8'), { lenient: true }),
);
const tokenizers = new Map<string, TokenizerLike>();
for (const name of ['bert-base-cased', 'scibert_scivocab_cased', 'roberta-base'] as const)
  tokenizers.set(name, right(await loadBundledTokenizer(name)(), name));

test('golden tables: tokens, ids and marker positions match the Python reference for every tokenizer', () => {
  assert.ok(golden.cases.length >= 10);
  for (const c of golden.cases) {
    const doc: DocREDDocument = (c.source === 're-docred' ? redocred : cdr)[c.document]!;
    assert.equal(doc.title, c.title);
    const f = right(
      new Featurizer(tokenizers.get(c.tokenizer)!, { markers: c.markers }).featurize(doc, c.document),
    );
    const what = `${c.tokenizer} ${c.markers} document ${c.document}`;
    assert.deepEqual(f.tokens, c.tokens, `${what}: tokens`);
    assert.deepEqual(f.inputIds, c.ids, `${what}: ids`);
    assert.deepEqual(f.mentionStart, c.mentionStart, `${what}: mention starts`);
    assert.deepEqual(f.mentionEnd, c.mentionEnd, `${what}: mention ends`);
    // ATLOP's entity_pos (start, end) are offsets without CLS: start + 1 = our start marker,
    // end (the token after the closing `*`) = our end marker's index (CLS shifts it by one).
    if (c.atlopEntityPos)
      assert.deepEqual(
        f.mentionStart.map((ms, e) => ms.map((s, j) => [s - 1, f.mentionEnd[e]![j]!])),
        c.atlopEntityPos,
        `${what}: ATLOP entity_pos`,
      );
  }
});

test('golden table excerpt: the first words of Re-DocRED document 0 with bert-base-cased', () => {
  const f = right(new Featurizer(tokenizers.get('bert-base-cased')!).featurize(redocred[0]!));
  assert.deepEqual(f.tokens.slice(0, 12), [
    '[CLS]',
    '*',
    'W',
    '##il',
    '##fried',
    '"',
    'Will',
    '##i',
    '"',
    'Schneider',
    '*',
    '(',
  ]);
  assert.deepEqual(f.inputIds.slice(0, 2), [101, 115]);
  assert.equal(f.mentionStart[0]![0], 1);
  assert.equal(f.mentionEnd[0]![0], 10);
  assert.equal(f.tokens.at(-1), '[SEP]');
  // every token of a sentence carries that sentence id; CLS/SEP carry -1
  assert.equal(f.tokenSentence[0], -1);
  assert.equal(f.tokenSentence.at(-1), -1);
  f.sentenceSpans.forEach(([a, b], s) => {
    for (let t = a; t < b; t++) assert.equal(f.tokenSentence[t], s);
  });
});

test('special tokens of each tokenizer', () => {
  const bert = tokenizers.get('bert-base-cased')!.specialTokens;
  assert.deepEqual(
    [bert.cls, bert.sep, bert.pad, bert.unk, bert.mask],
    [
      { token: '[CLS]', id: 101 },
      { token: '[SEP]', id: 102 },
      { token: '[PAD]', id: 0 },
      { token: '[UNK]', id: 100 },
      { token: '[MASK]', id: 103 },
    ],
  );
  const rob = tokenizers.get('roberta-base')!.specialTokens;
  assert.deepEqual(
    [rob.cls, rob.sep, rob.pad, rob.unk, rob.mask],
    [
      { token: '<s>', id: 0 },
      { token: '</s>', id: 2 },
      { token: '<pad>', id: 1 },
      { token: '<unk>', id: 3 },
      { token: '<mask>', id: 50264 },
    ],
  );
  assert.equal(tokenizers.get('bert-base-cased')!.vocabSize, 28996);
  assert.equal(tokenizers.get('scibert_scivocab_cased')!.vocabSize, 31116);
  assert.equal(tokenizers.get('roberta-base')!.vocabSize, 50265);
});

test('bundled built tokenizer.json files equal a fresh build from the vocabulary files', () => {
  const sci = right(
    buildTokenizerJSON({
      type: 'wordpiece',
      vocab: readFileSync(sharedData('tokenizers/scibert_scivocab_cased/vocab.txt'), 'utf8'),
    }),
  );
  assert.equal(
    JSON.stringify(sci),
    readFileSync(bundledAssetPath('tokenizers/scibert_scivocab_cased/tokenizer.json'), 'utf8'),
  );
  const rob = right(
    buildTokenizerJSON({
      type: 'bpe',
      vocab: readFileSync(sharedData('tokenizers/roberta-base/vocab.json'), 'utf8'),
      merges: readFileSync(sharedData('tokenizers/roberta-base/merges.txt'), 'utf8'),
    }),
  );
  assert.equal(
    JSON.stringify(rob),
    readFileSync(bundledAssetPath('tokenizers/roberta-base/tokenizer.json'), 'utf8'),
  );
});

test('a tokenizer directory without tokenizer.json is built from vocab.txt / vocab.json + merges.txt', async () => {
  const built = right(await HFTokenizer.fromDirectory(sharedData('tokenizers/roberta-base'))());
  assert.deepEqual(built.encode('Schneider'), tokenizers.get('roberta-base')!.encode('Schneider'));
  const sci = right(await HFTokenizer.fromDirectory(sharedData('tokenizers/scibert_scivocab_cased'))());
  assert.deepEqual(
    sci.encode('lithium carbonate').tokens,
    tokenizers.get('scibert_scivocab_cased')!.encode('lithium carbonate').tokens,
  );
});

test('tokenizer errors are Lefts naming the file and the problem', async () => {
  assert.match(
    left(await HFTokenizer.fromDirectory('/nonexistent-dir')()).message,
    /\/nonexistent-dir: tokenizer: found no tokenizer.json, vocab.txt, or vocab.json \+ merges.txt/,
  );
  assert.match(
    left(HFTokenizer.parse('{"model": ', 'x/tokenizer.json')).message,
    /^x\/tokenizer.json:1: truncated JSON/,
  );
  assert.match(
    left(HFTokenizer.fromJSON({ version: '1.0' }, 't.json')).message,
    /t.json: tokenizer: expected a tokenizer.json object with a "model" field/,
  );
  assert.match(
    left(buildTokenizerJSON({ type: 'wordpiece', vocab: 'a\nb\n' })).message,
    /vocab.txt: tokenizer: missing special tokens \[PAD\], \[UNK\], \[CLS\], \[SEP\]/,
  );
  assert.match(
    left(
      buildTokenizerJSON({
        type: 'bpe',
        vocab: '{"<s>":0,"</s>":1,"<pad>":2,"<unk>":3}',
        merges: '#version: 0.2\na b c\n',
      }),
    ).message,
    /merges.txt: tokenizer: line 2: expected "a b"/,
  );
});

test("added marker tokens get ids after the vocabulary; '*' stays the vocabulary's own", () => {
  const bert = tokenizers.get('bert-base-cased')!;
  const typed = new Featurizer(bert, {
    markers: 'typed',
    markerTokens: 'added',
    entityTypes: ['PER', 'TIME', 'LOC', 'ORG', 'MISC', 'NUM'],
  });
  assert.deepEqual(typed.addedTokens.slice(0, 4), ['<PER>', '</PER>', '<TIME>', '</TIME>']);
  assert.equal(typed.vocabSize, 28996 + 12);
  const f = right(typed.featurize(redocred[0]!));
  assert.deepEqual(f.tokens.slice(0, 3), ['[CLS]', '<PER>', 'W']);
  assert.equal(f.inputIds[1], 28996);
  assert.equal(f.inputIds[f.mentionEnd[0]![0]!], 28997);
  const star = new Featurizer(bert, { markerTokens: 'added' });
  assert.deepEqual(star.addedTokens, []);
  const unknown = new Featurizer(bert, { markers: 'typed', markerTokens: 'added', entityTypes: ['ORG'] });
  assert.match(
    left(unknown.featurize(redocred[0]!, 7)).message,
    /^document 7 "Willi Schneider \(skeleton racer\)" at vertexSet\[0\]\[0\]: marker "<PER>" has no token id/,
  );
});

test('no truncation by default; maxLength cuts, keeps SEP and reports the cut', () => {
  const bert = tokenizers.get('bert-base-cased')!;
  const long = redocred.reduce((a, d) => (d.sents.flat().length > a.sents.flat().length ? d : a));
  const whole = right(new Featurizer(bert).featurize(long));
  assert.ok(whole.inputIds.length > 512, `longest document has ${whole.inputIds.length} tokens`);
  assert.equal(whole.truncation, undefined);
  const cut = right(new Featurizer(bert, { maxLength: 512 }).featurize(long));
  assert.equal(cut.inputIds.length, 512);
  assert.equal(cut.tokens[511], '[SEP]');
  assert.deepEqual(cut.inputIds.slice(0, 511), whole.inputIds.slice(0, 511));
  const dropped = whole.mentionStart.flat().filter((p) => p >= 511).length;
  assert.ok(dropped > 0);
  assert.deepEqual(cut.truncation, { originalLength: whole.inputIds.length, droppedMentions: dropped });
  assert.equal(cut.mentionStart.flat().filter((p) => p === -1).length, dropped);
  assert.match(
    left(new Featurizer(bert, { maxLength: 1 }).featurize(long, 3)).message,
    /^document 3 ".*" at maxLength: expected an integer ≥ 2, got 1$/,
  );
});

test('a TokenizerLike written by hand (e.g. an embedded SentencePiece vocabulary) drives the featurizer', () => {
  const vocab = ['<pad>', '<unk>', '▁a', '▁b', '*', '▁c'];
  const tk: TokenizerLike = {
    encode: (text) => {
      const id = vocab.indexOf(text === '*' ? '*' : `▁${text}`);
      return { ids: [id < 0 ? 1 : id], tokens: [id < 0 ? '<unk>' : vocab[id]!] };
    },
    tokenToId: (t) => (vocab.includes(t) ? vocab.indexOf(t) : undefined),
    vocabSize: vocab.length,
    specialTokens: { pad: { token: '<pad>', id: 0 }, unk: { token: '<unk>', id: 1 } },
  };
  const doc: DocREDDocument = {
    title: 'x',
    sents: [
      ['a', 'b'],
      ['c', 'zz'],
    ],
    vertexSet: [
      [{ name: 'b', pos: [1, 2], sent_id: 0, type: 'PER' }],
      [{ name: 'c zz', pos: [0, 2], sent_id: 1, type: 'LOC' }],
    ],
  };
  const f = right(new Featurizer(tk).featurize(doc));
  // no CLS/SEP in this vocabulary: nothing is added around the document
  assert.deepEqual(f.tokens, ['▁a', '*', '▁b', '*', '*', '▁c', '<unk>', '*']);
  assert.deepEqual(f.mentionStart, [[1], [4]]);
  assert.deepEqual(f.mentionEnd, [[3], [7]]);
  assert.deepEqual(f.tokenSentence, [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.equal(f.padId, 0);
});

test('every Re-DocRED, DocRED test and CDR document featurizes (star; typed and entity-id on Re-DocRED)', () => {
  const test_ = right(readDocRED(readFileSync(sharedData('docred/test.json'), 'utf8')));
  for (const style of ['star', 'typed', 'entity-id'] as const) {
    const f = new Featurizer(tokenizers.get('bert-base-cased')!, { markers: style });
    for (const docs of style === 'star' ? [redocred, test_, cdr] : [redocred]) {
      const all = f.featurizeAll(docs);
      assert.ok(E.isRight(all), style);
      for (const feat of all.right)
        for (const ms of feat.mentionStart) for (const p of ms) assert.ok(p > 0 && p < feat.inputIds.length);
    }
  }
});

test('every CDR and GDA .data document featurizes with scibert (markers on every mention)', async () => {
  const f = new Featurizer(tokenizers.get('scibert_scivocab_cased')!);
  for (const file of ['cdr/train_filter.data', 'cdr/dev_filter.data', 'gda/test.data']) {
    const docs = right(await readBioDataFile(sharedData(file))(), file);
    const features = right(f.featurizeAll(docs), file);
    for (const feat of features) for (const p of feat.mentionStart.flat()) assert.equal(feat.tokens[p], '*');
  }
});
