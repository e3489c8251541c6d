/**
 * Relation schema and entity-type vocabulary.
 *
 * A `RelationSchema` maps the relation ids used in the data (`P17`, `CID`, …) to the class
 * columns `r` of every `[b, e, e, r]` tensor. Class 0 is always NA (ATLOP's threshold class,
 * DocuNet's NA column). Relation ids listed as NA aliases (CDR/GDA's explicit `NR` labels) map to
 * class 0: such a label marks a candidate pair with no relation.
 *
 * Dimension legend: `r` relation classes incl. class 0.
 *
 * @example
 * const schema = RelationSchema.docred();
 * schema.size;            // 97
 * schema.classOf('P17');  // 1
 * schema.idOf(1);         // 'P17'
 * schema.nameOf(1);       // 'country'
 */
import * as E from 'fp-ts/lib/Either.js';
import { type DataError, type DataIssue, invalidData, parseError, describe } from './errors.js';
import { DOCRED_ENTITY_TYPES, DOCRED_RELATION_IDS, DOCRED_RELATION_NAMES } from './docred-meta.js';

/** Relation classes: index = class column, 0 = NA. */
export class RelationSchema {
  private readonly index: ReadonlyMap<string, number>;

  /**
   * @param ids relation id per class; `ids[0]` is the NA id (e.g. `Na`)
   * @param names human-readable name per class (defaults to the id)
   * @param naAliases further relation ids that mean "no relation" (class 0), e.g. `['NR']`
   * Prefer the total constructors `fromRel2Id` / `parse`; this one assumes valid, distinct ids.
   */
  constructor(
    readonly ids: readonly string[],
    readonly names: readonly string[] = ids,
    readonly naAliases: readonly string[] = [],
  ) {
    const m = new Map<string, number>();
    ids.forEach((id, k) => m.set(id, k));
    naAliases.forEach((id) => m.set(id, 0));
    this.index = m;
  }

  /** Number of classes `r` including class 0. */
  get size(): number {
    return this.ids.length;
  }

  /** Class column of a relation id (NA aliases → 0); `undefined` when unknown. */
  classOf(id: string): number | undefined {
    return this.index.get(id);
  }

  /** Relation id of a class column. */
  idOf(k: number): string {
    return this.ids[k] ?? `#${k}`;
  }

  /** Human-readable name of a class column. */
  nameOf(k: number): string {
    return this.names[k] ?? this.idOf(k);
  }

  /** True when `id` is known (a class or an NA alias). */
  has(id: string): boolean {
    return this.index.has(id);
  }

  /**
   * From a parsed `rel2id.json` (`{id: class}`) and optional `rel_info.json` (`{id: name}`).
   * Classes must be the integers 0…r−1 exactly once each; class 0 is NA. Ids in `naAliases` are
   * removed from the classes (the remaining classes keep their order) and mapped to class 0.
   */
  static fromRel2Id(
    rel2id: unknown,
    relInfo: unknown = {},
    options: { naAliases?: readonly string[]; file?: string } = {},
  ): E.Either<DataError, RelationSchema> {
    const file = options.file ?? 'rel2id.json';
    const issue = (path: string, message: string): DataIssue => ({
      kind: 'type',
      file,
      document: -1,
      title: undefined,
      path,
      message,
    });
    if (typeof rel2id !== 'object' || rel2id === null || Array.isArray(rel2id))
      return E.left(
        invalidData(file, [
          issue('$', `expected an object {relation id: class}, got ${JSON.stringify(rel2id)}`),
        ]),
      );
    const entries = Object.entries(rel2id as Record<string, unknown>);
    const issues: DataIssue[] = [];
    const byClass: (string | undefined)[] = new Array(entries.length).fill(undefined);
    for (const [id, k] of entries) {
      if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= entries.length)
        issues.push(
          issue(`$.${id}`, `expected a class in 0…${entries.length - 1}, got ${JSON.stringify(k)}`),
        );
      else if (byClass[k] !== undefined)
        issues.push(issue(`$.${id}`, `class ${k} already used by ${byClass[k]}`));
      else byClass[k] = id;
    }
    if (issues.length > 0) return E.left(invalidData(file, issues));
    const aliases = options.naAliases ?? [];
    const ids = (byClass as string[]).filter((id, k) => k === 0 || !aliases.includes(id));
    const info = (typeof relInfo === 'object' && relInfo !== null ? relInfo : {}) as Record<string, unknown>;
    const names = ids.map((id, k) =>
      k === 0 ? 'no relation' : typeof info[id] === 'string' ? (info[id] as string) : id,
    );
    return E.right(new RelationSchema(ids, names, aliases));
  }

  /** From the texts of `rel2id.json` and (optionally) `rel_info.json`. */
  static parse(
    rel2idText: string,
    relInfoText?: string,
    options: { naAliases?: readonly string[]; file?: string } = {},
  ): E.Either<DataError, RelationSchema> {
    const file = options.file ?? 'rel2id.json';
    return E.flatMap(parseJSON(rel2idText, file), (rel2id) =>
      E.flatMap(relInfoText === undefined ? E.right({}) : parseJSON(relInfoText, 'rel_info.json'), (info) =>
        RelationSchema.fromRel2Id(rel2id, info, options),
      ),
    );
  }

  /** DocRED / Re-DocRED: 97 classes (`Na` + 96 Wikidata properties), order of DocRED's rel2id.json. */
  static docred(): RelationSchema {
    return new RelationSchema(
      DOCRED_RELATION_IDS,
      DOCRED_RELATION_IDS.map((id, k) => (k === 0 ? 'no relation' : (DOCRED_RELATION_NAMES[id] ?? id))),
    );
  }

  /** CDR: classes `Na`, `CID`; the explicit `NR` labels are NA aliases (ATLOP's `cdr_rel2id`). */
  static cdr(): RelationSchema {
    return new RelationSchema(['Na', 'CID'], ['no relation', 'Chemical induces disease'], ['NR']);
  }

  /** GDA: classes `Na`, `GDA`; `NR` is an NA alias (ATLOP's `gda_rel2id`). */
  static gda(): RelationSchema {
    return new RelationSchema(['Na', 'GDA'], ['no relation', 'Gene disease association'], ['NR']);
  }
}

/** Entity-type vocabulary (ner2id.json): type name → id; id 0 is the padding type (`BLANK`). */
export class EntityTypes {
  private readonly index: ReadonlyMap<string, number>;
  constructor(readonly types: readonly string[]) {
    this.index = new Map(types.map((t, k) => [t, k]));
  }
  get size(): number {
    return this.types.length;
  }
  /** Id of a type name; `undefined` when unknown. */
  idOf(type: string): number | undefined {
    return this.index.get(type);
  }
  /** From a parsed ner2id.json (`{type: id}`, ids 0…k−1). */
  static fromNer2Id(ner2id: unknown, file = 'ner2id.json'): E.Either<DataError, EntityTypes> {
    return E.map((s: RelationSchema) => new EntityTypes(s.ids))(
      RelationSchema.fromRel2Id(ner2id, {}, { file }),
    );
  }
  /** DocRED's seven types: BLANK, ORG, LOC, TIME, PER, MISC, NUM. */
  static docred(): EntityTypes {
    const types: string[] = [];
    for (const [t, k] of Object.entries(DOCRED_ENTITY_TYPES)) types[k] = t;
    return new EntityTypes(types);
  }
  /** The types `readBioData` produces (CDR/GDA `.data`) plus those of CDR's DocRED-form ner2id. */
  static bio(): EntityTypes {
    return new EntityTypes(['BLANK', 'Chemical', 'Disease', 'Gene', 'CHEM', 'DISE']);
  }
}

/** JSON.parse at the edge, as an Either; the message keeps the parser's position text. */
export function parseJSON(text: string, file: string): E.Either<DataError, unknown> {
  return E.tryCatch(
    () => JSON.parse(text) as unknown,
    (cause) => {
      const detail = describe(cause);
      const m = /position (\d+)/.exec(detail);
      const truncated = /Unexpected end|Unterminated/.test(detail);
      const line = m
        ? text.slice(0, Number(m[1])).split('\n').length
        : truncated
          ? text.split('\n').length
          : undefined;
      const hint = text.length === 0 ? 'empty file' : truncated ? 'truncated JSON' : 'invalid JSON';
      return parseError(file, `${hint}: ${detail}`, line);
    },
  );
}
