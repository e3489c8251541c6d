/**
 * Test helpers: tiny Hugging Face model directories (config.json + model.safetensors +
 * tokenizer.json) in a temporary folder, and a tiny WordPiece tokenizer.json.
 */
import { mkdtemp, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFixture } from '../helpers.js';

/** The golden file written by test/fixtures/gen_bert.py. */
export interface BertGolden {
  config: Record<string, unknown>;
  inputIds: number[][];
  attentionMask: number[][];
  hidden: number[];
  hiddenShape: number[];
  attention: number[];
  attentionMeanLast2: number[];
  attentionShape: number[];
}

export const golden = await loadFixture<Record<'bert' | 'roberta', BertGolden>>('bert_tiny.json');

/** Words of the tiny vocabulary (ids 5.. after the five specials). */
const WORDS = 'paris is the capital of france berlin germany city river a an in on and was born he she it'.split(' ');

/** A tiny BERT-style WordPiece tokenizer.json (vocabulary ≤ 40 so it fits the tiny models). */
export function tinyTokenizerJSON(): object {
  const vocab: Record<string, number> = { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4 };
  for (const w of WORDS) vocab[w] = Object.keys(vocab).length;
  for (const s of ['##s', '##ing', '.', ',', '*']) vocab[s] = Object.keys(vocab).length;
  const special = (content: string, id: number) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('[PAD]', 0), special('[UNK]', 1), special('[CLS]', 2), special('[SEP]', 3), special('[MASK]', 4)],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/** A fresh temporary directory. */
export async function tempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `docre-${tag}-`));
}

/**
 * Writes a Hugging Face directory for the golden model `which`: config.json from the fixture,
 * model.safetensors copied from test/fixtures (written by the Python writer), tokenizer.json.
 */
export async function writeGoldenDir(which: 'bert' | 'roberta'): Promise<string> {
  const dir = await tempDir(which);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(golden[which].config, null, 2));
  await copyFile(new URL(`../fixtures/${which}_tiny.safetensors`, import.meta.url), join(dir, 'model.safetensors'));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJSON()));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 24, do_lower_case: true }));
  return dir;
}

/**
 * A tiny random BERT (d = 16, one layer, 2 heads) with the real bert-base-cased tokenizer
 * (assets/), written as a Hugging Face directory at `dir` (the CLI tests train on it).
 */
export async function writeTinyBertDir(dir: string): Promise<void> {
  const { BertEncoder, parseBertConfig } = await import('../../src/encoders/bert.js');
  const config = parseBertConfig({
    model_type: 'bert',
    vocab_size: 28996,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 512,
  });
  const bert = BertEncoder.random(config, 1);
  await bert.save(dir);
  bert.dispose();
  await copyFile(new URL('../../assets/tokenizers/bert-base-cased/tokenizer.json', import.meta.url), join(dir, 'tokenizer.json'));
}
