import { describe, expect, it } from 'vitest';
import { expandList } from './session-policy.js';

describe('expandList (EXPN from routing.lists)', () => {
  const lists = {
    'staff@example.com': ['alice@example.com', 'Bob@example.org'],
    'ops@example.com': ['carol@example.com'],
    'ops@example.org': ['dave@example.org'],
  };

  it('finds a list by its address, in any case, with or without angle brackets', () => {
    expect(expandList(lists, 'staff@example.com')).toEqual(lists['staff@example.com']);
    expect(expandList(lists, '<Staff@Example.COM>')).toEqual(lists['staff@example.com']);
  });

  it('finds a list by its local part when exactly one list has it', () => {
    expect(expandList(lists, 'staff')).toEqual(lists['staff@example.com']);
    expect(expandList(lists, 'ops')).toBeUndefined();
    expect(expandList(lists, 'nobody')).toBeUndefined();
    expect(expandList(lists, 'nobody@example.com')).toBeUndefined();
  });
});
