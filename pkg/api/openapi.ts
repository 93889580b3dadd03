/**
 * OpenAPI v3 schemas derived from the schema DSL, with the Kubernetes extensions kubectl
 * reads (`x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, `x-kubernetes-int-or-string`,
 * `x-kubernetes-preserve-unknown-fields`). Nested types are inlined; the apiserver can publish
 * one document per group-version from these.
 */
import { Schema } from './schema';

export interface OpenAPISchema {
  type?: 'string' | 'integer' | 'boolean' | 'object' | 'array';
  format?: string;
  enum?: readonly string[];
  properties?: Record<string, OpenAPISchema>;
  required?: readonly string[];
  items?: OpenAPISchema;
  additionalProperties?: OpenAPISchema;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: readonly string[];
}

export function toOpenAPI(schema: Schema): OpenAPISchema {
  switch (schema.kind) {
    case 'string': {
      const out: OpenAPISchema = { type: 'string' };
      if (schema.format) out.format = schema.format;
      if (schema.enum) out.enum = schema.enum;
      return out;
    }
    case 'int':
      return { type: 'integer', format: schema.format };
    case 'boolean':
      return { type: 'boolean' };
    case 'quantity':
      // Kubernetes publishes quantities as int-or-string, which is what it accepts.
      return { 'x-kubernetes-int-or-string': true };
    case 'int-or-string':
      return { 'x-kubernetes-int-or-string': true };
    case 'free-form':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    case 'array': {
      const out: OpenAPISchema = { type: 'array', items: toOpenAPI(schema.items) };
      if (schema.patchStrategy) out['x-kubernetes-patch-strategy'] = schema.patchStrategy;
      if (schema.patchMergeKey) out['x-kubernetes-patch-merge-key'] = schema.patchMergeKey;
      if (schema.listType) out['x-kubernetes-list-type'] = schema.listType;
      if (schema.listMapKeys) out['x-kubernetes-list-map-keys'] = schema.listMapKeys;
      return out;
    }
    case 'map':
      return { type: 'object', additionalProperties: toOpenAPI(schema.values) };
    case 'object': {
      const properties: Record<string, OpenAPISchema> = {};
      for (const [name, field] of Object.entries(schema.fields)) properties[name] = toOpenAPI(field);
      const out: OpenAPISchema = { type: 'object', properties };
      if (schema.required.length > 0) out.required = schema.required;
      return out;
    }
  }
}
