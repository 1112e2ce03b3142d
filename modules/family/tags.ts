import { TerraformResource, type IAspect } from 'cdktf';
import type { IConstruct } from 'constructs';

/** Adds the `family` tag to every taggable resource of a family (the provider adds project and environment). */
export class FamilyTags implements IAspect {
  constructor(private readonly family: string) {}

  visit(node: IConstruct): void {
    // tagsInput is the plain map set so far (tags itself reads back as a Terraform reference).
    const taggable = node as unknown as { tags?: Record<string, string>; tagsInput?: Record<string, string> };
    if (node instanceof TerraformResource && 'tagsInput' in taggable) {
      taggable.tags = { ...(taggable.tagsInput ?? {}), family: this.family };
    }
  }
}
