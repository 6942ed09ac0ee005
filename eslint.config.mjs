// ESLint for the whole repository: typescript-eslint's type-aware strict rules on the
// TypeScript, ESLint's recommended rules on the JavaScript, and no import cycles anywhere.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['lib/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    // `const { secret, ...kept } = value` copies an object without one field: the left-out binding is the point.
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // Type-only imports say so, as `import type { … }` or inline `{ type … }` beside values from the same module.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // A number in a message prints as its decimal, which is what is meant; undefined, null, objects and any still need String() or formatting.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowAny: false,
          allowBoolean: false,
          allowNever: false,
          allowNullish: false,
          allowNumber: true,
          allowRegExp: false,
        },
      ],
      // `(error) => reject(error)` and `() => resolve()` are callbacks whose result nobody reads; a void value returned from a block body or assigned still fails.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    // Tests read synthesized objects through the deliberately loose `Manifest` type (no-explicit-any still flags where `any` enters).
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // A test reads what it has just asserted is there (`expect(found).toBeDefined()`, then `found!.x`): the assertion is the check.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests unset the environment variables they set (`delete process.env[NAME]`) and strip fields from fixture copies.
      '@typescript-eslint/no-dynamic-delete': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    // CommonJS scripts load their modules with require().
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.cjs', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.cjs', '.mjs', '.json'] })],
    },
    rules: {
      // External packages cannot import ours back: not following them keeps the check fast.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // The floors: contract/ is the ground that constructs, stacks and worker stand on; constructs
      // and stacks never reach into the worker, the worker never into them (bench/ and test/ may
      // import anything).
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: ['./constructs', './stacks'],
              from: './worker',
              message: 'constructs and stacks share only contract/ with the worker.',
            },
            {
              target: './worker',
              from: ['./constructs', './stacks'],
              message: 'the worker imports contract/, never constructs or stacks.',
            },
            {
              target: './constructs',
              from: './stacks',
              message: 'constructs do not import the stacks built from them.',
            },
            {
              target: './contract',
              from: ['./constructs', './stacks', './worker', './bench', './test'],
              message: 'contract/ is the ground floor.',
            },
          ],
        },
      ],
    },
  },
  {
    // The contract is bundled into the worker and shipped with the constructs: Node.js built-ins only.
    files: ['contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(?!node:|\\.)', message: 'contract/ imports Node.js built-ins (node:...) and itself only.' },
          ],
        },
      ],
    },
  },
);
