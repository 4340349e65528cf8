/**
 * What reading a .proto file needs both in the registry and in the protobuf serializer: the
 * well-known google/protobuf/*.proto imports, which protobufjs carries, and Confluent's message
 * indexes (the path of a message among its file's message declarations).
 */
import protobuf from 'protobufjs';

/** Adds protobufjs's copy of a well-known import (google/protobuf/x.proto); false when it has none. */
export function addWellKnownImport(root: protobuf.Root, path: string): boolean {
  if (!path.startsWith('google/protobuf/')) return false;
  const descriptor = protobuf.common.get(path);
  if (descriptor === null || descriptor === undefined) return false;
  root.addJSON((descriptor as { nested: Record<string, protobuf.AnyNestedObject> }).nested);
  return true;
}

/** Everything declared in `root` so far, nested included: what imported files brought, before a file is parsed into it. */
export function declarationsOf(root: protobuf.Root): Set<protobuf.ReflectionObject> {
  const declared = new Set<protobuf.ReflectionObject>();
  const collect = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      declared.add(nested);
      if (nested instanceof protobuf.Namespace) collect(nested);
    }
  };
  collect(root);
  return declared;
}

/** Which messages a file declares itself, when its root also holds those of the files it imports. */
export type OwnMessage = (type: protobuf.Type) => boolean;

const EVERY_MESSAGE: OwnMessage = () => true;

/** The messages the file declares directly in `namespace`, in declaration order. */
function messagesIn(namespace: protobuf.NamespaceBase, own: OwnMessage): protobuf.Type[] {
  return namespace.nestedArray.filter((nested): nested is protobuf.Type => nested instanceof protobuf.Type && own(nested));
}

/**
 * Confluent's message indexes of `type`: its position among the file's top-level messages, then
 * among its parent's nested messages, and so on down.
 */
export function messageIndexes(type: protobuf.Type, own: OwnMessage = EVERY_MESSAGE): number[] {
  const indexes: number[] = [];
  let current: protobuf.NamespaceBase = type;
  while (current.parent instanceof protobuf.Type) {
    indexes.unshift(messagesIn(current.parent, own).indexOf(current as protobuf.Type));
    current = current.parent;
  }
  // The top level: the package namespace (or the root) holding the outermost message.
  const outer = current.parent as protobuf.NamespaceBase;
  indexes.unshift(messagesIn(outer, own).indexOf(current as protobuf.Type));
  return indexes;
}

/** The message at `indexes` in a file whose package is `packageName`. */
export function messageAt(root: protobuf.Root, packageName: string, indexes: readonly number[], own: OwnMessage = EVERY_MESSAGE): protobuf.Type | undefined {
  let namespace: protobuf.NamespaceBase | null = packageName === '' ? root : root.lookup(packageName) as protobuf.NamespaceBase | null;
  let found: protobuf.Type | undefined;
  for (const index of indexes) {
    if (namespace === null) return undefined;
    found = messagesIn(namespace, own)[index];
    if (found === undefined) return undefined;
    namespace = found;
  }
  return found;
}
