/**
 * PROTOBUF schemas through protobufjs: a schema is a .proto file; its references are the files it
 * imports, by import path (google/protobuf/*.proto come with protobufjs). Compatibility follows
 * Confluent's Protobuf rules, the writer's file against the reader's, message by message and
 * field by field number:
 *
 * incompatible: PACKAGE_CHANGED, MESSAGE_REMOVED, FIELD_KIND_CHANGED (scalar / message / map),
 * FIELD_SCALAR_KIND_CHANGED (outside the wire-compatible groups int32-int64-uint32-uint64-bool-enum,
 * sint32-sint64, string-bytes, fixed32-sfixed32, fixed64-sfixed64), FIELD_NAMED_TYPE_CHANGED,
 * FIELD_NUMERIC_LABEL_CHANGED (a numeric field made repeated or not), REQUIRED_FIELD_ADDED,
 * REQUIRED_FIELD_REMOVED, ONEOF_FIELD_REMOVED, MULTIPLE_FIELDS_MOVED_TO_ONEOF,
 * FIELD_MOVED_TO_EXISTING_ONEOF;
 * compatible (not reported): fields added or removed, renamed, enums and their constants changed,
 * oneofs added or removed whole.
 *
 * Canonical text: the file without comments, whitespace collapsed to single spaces and dropped
 * around punctuation; string literals kept as written.
 */
import protobuf from 'protobufjs';
// Adds Root#toDescriptor and the descriptor messages (FileDescriptorProto...) to protobufjs.
import * as descriptor from 'protobufjs/ext/descriptor.js';
import { addWellKnownImport, declarationsOf } from '../client/protobuf-files.js';
import { invalidSchema, type ParsedSchema, type ResolvedReference, type SchemaProvider } from './schema.js';

const SCALAR_GROUPS: Record<string, string> = {
  int32: 'GENERAL_NUMBER',
  int64: 'GENERAL_NUMBER',
  uint32: 'GENERAL_NUMBER',
  uint64: 'GENERAL_NUMBER',
  bool: 'GENERAL_NUMBER',
  sint32: 'SIGNED_NUMBER',
  sint64: 'SIGNED_NUMBER',
  string: 'STRING_OR_BYTES',
  bytes: 'STRING_OR_BYTES',
  fixed32: 'FIXED32',
  sfixed32: 'FIXED32',
  fixed64: 'FIXED64',
  sfixed64: 'FIXED64',
  float: 'FLOAT',
  double: 'DOUBLE',
};

export class ProtobufSchema implements ParsedSchema {
  readonly schemaType = 'PROTOBUF' as const;

  constructor(
    readonly canonical: string,
    readonly root: protobuf.Root,
    readonly packageName: string,
    /** The file's own messages, top-level and nested, in declaration order (Confluent's message indexes). */
    readonly messages: readonly protobuf.Type[],
    private readonly imports: readonly string[],
    private readonly syntax: 'proto2' | 'proto3',
    /** What the referenced files declared into the root, which is not this file's. */
    private readonly imported: ReadonlySet<protobuf.ReflectionObject>,
  ) {}

  /**
   * The file as a FileDescriptorProto, base64: what Confluent answers for `?format=serialized`,
   * and what its Protobuf deserializer reads.
   */
  serialized(): string {
    const set = this.root.toDescriptor(this.syntax);
    const file = set.file.find((candidate) => (candidate.package ?? '') === this.packageName) ?? set.file[0];
    const scope = this.packageName === '' ? this.root : (this.root.lookup(this.packageName) as protobuf.NamespaceBase);
    // A referenced file of the same package lands in the same descriptor: keep only this file's declarations.
    const ownName = (name: string | null | undefined): boolean => !this.imported.has(scope.get(name ?? '') as protobuf.ReflectionObject);
    file.messageType = (file.messageType ?? []).filter((message) => ownName(message.name));
    file.enumType = (file.enumType ?? []).filter((declared) => ownName(declared.name));
    qualifyTypeNames(file.messageType, scope);
    file.name = 'schema.proto';
    file.dependency = [...this.imports];
    if (this.syntax === 'proto3') file.syntax = 'proto3';
    return Buffer.from(descriptor.FileDescriptorProto.encode(file).finish()).toString('base64');
  }

  /** A message by its name relative to the package (`Outer.Inner`). */
  message(localName: string): protobuf.Type | undefined {
    return this.messages.find((type) => localNameOf(type, this.packageName) === localName);
  }

  readerIncompatibilities(writer: ParsedSchema): string[] {
    if (!(writer instanceof ProtobufSchema)) return [`a ${writer.schemaType} schema cannot be compared with a PROTOBUF one`];
    const differences: string[] = [];
    const add = (kind: string, path: string): void => {
      differences.push(`{errorType:'${kind}', path:'${path}'}`);
    };
    if (writer.packageName !== this.packageName) add('PACKAGE_CHANGED', '#/');
    for (const writerMessage of writer.messages) {
      const name = localNameOf(writerMessage, writer.packageName);
      const readerMessage = this.message(name);
      if (readerMessage === undefined) add('MESSAGE_REMOVED', `#/${name}`);
      else compareMessages(writer, this, writerMessage, readerMessage, `#/${name}`, add);
    }
    return differences;
  }
}

/**
 * protobufjs writes field type names as the .proto said them (`Status`); descriptor readers resolve
 * only full names (`.shop.Order.Status`), so each is looked up from its message's scope.
 */
function qualifyTypeNames(messages: descriptor.IDescriptorProto[], scope: protobuf.NamespaceBase): void {
  for (const message of messages) {
    // A map's generated entry message has no protobufjs type: its names resolve from the parent.
    const own = scope.get(message.name ?? '');
    const messageScope = own instanceof protobuf.Namespace ? own : scope;
    for (const field of message.field ?? []) {
      if (field.typeName === undefined || field.typeName === null || field.typeName === '' || field.typeName.startsWith('.')) continue;
      const resolved = messageScope.lookup(field.typeName);
      if (resolved !== null) field.typeName = resolved.fullName;
    }
    qualifyTypeNames(message.nestedType ?? [], messageScope);
  }
}

function localNameOf(type: protobuf.ReflectionObject, packageName: string): string {
  const full = type.fullName.slice(1);
  return packageName !== '' && full.startsWith(`${packageName}.`) ? full.slice(packageName.length + 1) : full;
}

type Kind = 'MAP' | 'MESSAGE' | 'SCALAR';

function kindOf(field: protobuf.Field): Kind {
  if (field instanceof protobuf.MapField) return 'MAP';
  return field.resolvedType instanceof protobuf.Type ? 'MESSAGE' : 'SCALAR';
}

function scalarGroup(field: protobuf.Field): string {
  return field.resolvedType instanceof protobuf.Enum ? 'GENERAL_NUMBER' : (SCALAR_GROUPS[field.type] ?? field.type);
}

function compareMessages(
  writerSchema: ProtobufSchema,
  readerSchema: ProtobufSchema,
  writer: protobuf.Type,
  reader: protobuf.Type,
  path: string,
  add: (kind: string, path: string) => void,
): void {
  const writerOneofOf = new Map<number, string>();
  for (const field of writer.fieldsArray) if (field.partOf) writerOneofOf.set(field.id, field.partOf.name);
  const readerOneofNames = new Set(reader.oneofsArray.map((oneof) => oneof.name));

  // Fields that were independent (or in different oneofs) and now share a oneof can no longer all be set.
  for (const oneof of reader.oneofsArray) {
    const origins = new Set<string>();
    let movedFromTop = 0;
    for (const field of oneof.fieldsArray) {
      const before = writer.fieldsById[field.id];
      if (before === undefined) continue;
      const origin = writerOneofOf.get(field.id);
      if (origin !== undefined) origins.add(`oneof:${origin}`);
      else {
        origins.add(`field:${field.id}`);
        movedFromTop++;
      }
    }
    if (origins.size > 1) add(movedFromTop > 1 ? 'MULTIPLE_FIELDS_MOVED_TO_ONEOF' : 'FIELD_MOVED_TO_EXISTING_ONEOF', `${path}/${oneof.name}`);
  }

  const ids = new Set([...writer.fieldsArray.map((field) => field.id), ...reader.fieldsArray.map((field) => field.id)]);
  for (const id of [...ids].sort((a, b) => a - b)) {
    const before = writer.fieldsById[id];
    const after = reader.fieldsById[id];
    const fieldPath = `${path}/${id}`;
    if (after === undefined) {
      const oneof = writerOneofOf.get(id);
      if (oneof !== undefined) {
        const oneofSurvives = readerOneofNames.has(oneof) || writer.oneofs[oneof].fieldsArray.some((member) => reader.fieldsById[member.id] !== undefined);
        if (oneofSurvives) add('ONEOF_FIELD_REMOVED', `${path}/${oneof}/${id}`);
      } else if (before.required) add('REQUIRED_FIELD_REMOVED', fieldPath);
      continue;
    }
    if (before === undefined) {
      if (after.required) add('REQUIRED_FIELD_ADDED', fieldPath);
      continue;
    }
    compareFields(writerSchema, readerSchema, before, after, fieldPath, add);
  }
}

function compareFields(
  writerSchema: ProtobufSchema,
  readerSchema: ProtobufSchema,
  writer: protobuf.Field,
  reader: protobuf.Field,
  path: string,
  add: (kind: string, path: string) => void,
): void {
  const kind = kindOf(writer);
  if (kind !== kindOf(reader)) return add('FIELD_KIND_CHANGED', path);
  if (writer instanceof protobuf.MapField && reader instanceof protobuf.MapField) {
    const writerMap = writer;
    const readerMap = reader;
    if ((SCALAR_GROUPS[writerMap.keyType] ?? writerMap.keyType) !== (SCALAR_GROUPS[readerMap.keyType] ?? readerMap.keyType)) add('FIELD_SCALAR_KIND_CHANGED', path);
  }
  if (kind === 'MESSAGE' || (kind === 'MAP' && writer.resolvedType instanceof protobuf.Type)) {
    const writerType = writer.resolvedType as protobuf.Type | null;
    const readerType = reader.resolvedType as protobuf.Type | null;
    if (!(readerType instanceof protobuf.Type) || writerType === null) return add('FIELD_NAMED_TYPE_CHANGED', path);
    if (localNameOf(writerType, writerSchema.packageName) !== localNameOf(readerType, readerSchema.packageName)) add('FIELD_NAMED_TYPE_CHANGED', path);
    // Same name: the message itself is compared in its own right (every message of the file is).
    return;
  }
  if (scalarGroup(writer) !== scalarGroup(reader)) return add('FIELD_SCALAR_KIND_CHANGED', path);
  if (kind === 'SCALAR' && writer.repeated !== reader.repeated && scalarGroup(writer) !== 'STRING_OR_BYTES') add('FIELD_NUMERIC_LABEL_CHANGED', path);
}

/** Messages declared under `namespace`, depth first in declaration order. */
function messagesUnder(namespace: protobuf.NamespaceBase, into: protobuf.Type[]): protobuf.Type[] {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) into.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) messagesUnder(nested, into);
  }
  return into;
}

/** Comments removed, whitespace collapsed, none around punctuation; string literals untouched. */
export function canonicalProto(text: string): string {
  let out = '';
  let pendingSpace = false;
  const punctuation = '{}[]()<>;=,:';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"' || char === "'") {
      let end = i + 1;
      while (end < text.length && text[end] !== char) end += text[end] === '\\' ? 2 : 1;
      if (pendingSpace && out !== '' && !punctuation.includes(out[out.length - 1])) out += ' ';
      pendingSpace = false;
      out += text.slice(i, end + 1);
      i = end;
    } else if (char === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      pendingSpace = true;
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
      pendingSpace = true;
    } else if (/\s/.test(char)) {
      pendingSpace = true;
    } else {
      if (pendingSpace && out !== '' && !punctuation.includes(char) && !punctuation.includes(out[out.length - 1])) out += ' ';
      pendingSpace = false;
      out += char;
    }
  }
  return out;
}

function parseInto(text: string, root: protobuf.Root, what: string, schemaText: string): protobuf.IParserResult {
  try {
    return protobuf.parse(text, root, { keepCase: true });
  } catch (error) {
    throw invalidSchema(`Invalid schema ${schemaText}, details: ${what}: ${(error as Error).message}`);
  }
}

export const protobufProvider: SchemaProvider = {
  schemaType: 'PROTOBUF',
  parse(text: string, references: readonly ResolvedReference[]): ParsedSchema {
    const root = new protobuf.Root();
    const provided = new Set<string>();
    for (const reference of references) {
      if (reference.schemaType !== 'PROTOBUF') {
        throw invalidSchema(`Invalid schema ${text}, details: reference ${reference.name} is a ${reference.schemaType} schema, not PROTOBUF`);
      }
      parseInto(reference.schema, root, `reference ${reference.name}`, text);
      provided.add(reference.name);
    }
    const imported = declarationsOf(root);
    const parsed = parseInto(text, root, 'the schema', text);
    for (const path of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      if (provided.has(path)) continue;
      if (!addWellKnownImport(root, path)) {
        throw invalidSchema(`Invalid schema ${text}, details: import "${path}" is neither a reference nor a well-known type; register it and list it in references`);
      }
    }
    try {
      root.resolveAll();
    } catch (error) {
      throw invalidSchema(`Invalid schema ${text}, details: ${(error as Error).message}`);
    }
    const own = messagesUnder(root, []).filter((type) => !imported.has(type) && !type.fullName.startsWith('.google.protobuf.'));
    if (own.length === 0) throw invalidSchema(`Invalid schema ${text}, details: the file declares no message`);
    const syntax = /^\s*syntax\s*=\s*["']proto3["']/m.test(text) ? 'proto3' : 'proto2';
    return new ProtobufSchema(canonicalProto(text), root, parsed.package ?? '', own, parsed.imports ?? [], syntax, imported);
  },
};
