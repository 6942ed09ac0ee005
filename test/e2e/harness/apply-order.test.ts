import { ordered } from './apply-order';

const objects = Array.from({ length: 20 }, (_, index) => index);

test('forward keeps the order, reverse reverses it', () => {
  expect(ordered(objects, 'forward')).toEqual(objects);
  expect(ordered(objects, 'reverse')).toEqual([...objects].reverse());
});

test('random is a permutation that the same seed repeats and another seed changes', () => {
  const once = ordered(objects, { random: 42 });
  expect([...once].sort((a, b) => a - b)).toEqual(objects);
  expect(ordered(objects, { random: 42 })).toEqual(once);
  expect(ordered(objects, { random: 43 })).not.toEqual(once);
  expect(once).not.toEqual(objects);
});
