/**
 * Builds DynamoDB update expressions with generated placeholders. Written by hand because neither
 * the AWS SDK v3 nor lib-dynamodb offers an expression builder (the old `@aws/dynamodb-expressions`
 * is unmaintained); this one does only what the stores need: SET, SET if_not_exists, list_append,
 * ADD to a set or a number, REMOVE, and a condition.
 */
export class UpdateExpression {
  private readonly sets: string[] = [];
  private readonly adds: string[] = [];
  private readonly removes: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private counter = 0;

  /** The placeholder for attribute `name`. */
  name(name: string): string {
    const placeholder = `#${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    this.names[placeholder] = name;
    return placeholder;
  }

  /** A placeholder bound to `value`. */
  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  set(attribute: string, value: unknown): this {
    this.sets.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }

  /** Sets `attribute` only when the item does not have it yet: first writer wins. */
  setIfMissing(attribute: string, value: unknown): this {
    const n = this.name(attribute);
    this.sets.push(`${n} = if_not_exists(${n}, ${this.value(value)})`);
    return this;
  }

  /** Appends `entries` to the list `attribute`, creating it when missing. */
  append(attribute: string, entries: readonly unknown[]): this {
    const n = this.name(attribute);
    this.sets.push(`${n} = list_append(if_not_exists(${n}, ${this.value([])}), ${this.value(entries)})`);
    return this;
  }

  /** Adds `members` to the string set `attribute`. */
  addToSet(attribute: string, members: readonly string[]): this {
    this.adds.push(`${this.name(attribute)} ${this.value(new Set(members))}`);
    return this;
  }

  /** Adds `by` to the number `attribute` (starting from 0). */
  increment(attribute: string, by: number): this {
    this.adds.push(`${this.name(attribute)} ${this.value(by)}`);
    return this;
  }

  remove(attribute: string): this {
    this.removes.push(this.name(attribute));
    return this;
  }

  /** The `UpdateExpression` text. */
  toString(): string {
    return [
      this.sets.length > 0 ? `SET ${this.sets.join(', ')}` : '',
      this.adds.length > 0 ? `ADD ${this.adds.join(', ')}` : '',
      this.removes.length > 0 ? `REMOVE ${this.removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }

  /** The parameters of an UpdateItem call: expression, names and (when any) values. */
  toParams(condition?: string) {
    return {
      UpdateExpression: this.toString(),
      ...(condition && { ConditionExpression: condition }),
      ExpressionAttributeNames: this.names,
      ...(Object.keys(this.values).length > 0 && { ExpressionAttributeValues: this.values }),
    };
  }
}
