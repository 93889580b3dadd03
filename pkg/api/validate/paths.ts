/** File paths inside volumes: relative, no `..` elements. */
import { FieldError, FieldPath } from '../field';

export function validatePathNoBacksteps(target: string, path: FieldPath): FieldError[] {
  // Even `../../..` gets one error: it makes the point.
  return target.split(/[/\\]/).includes('..')
    ? [FieldError.invalid(path, target, "must not contain '..'")]
    : [];
}

export function validateLocalDescendingPath(target: string, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  if (target.startsWith('/')) errors.push(FieldError.invalid(path, target, 'must be a relative path'));
  errors.push(...validatePathNoBacksteps(target, path));
  return errors;
}

export function validateLocalNonReservedPath(target: string, path: FieldPath): FieldError[] {
  const errors = validateLocalDescendingPath(target, path);
  // Not reported twice when the `..` element check already caught it.
  if (target.startsWith('..') && !target.startsWith('../'))
    errors.push(FieldError.invalid(path, target, "must not start with '..'"));
  return errors;
}
