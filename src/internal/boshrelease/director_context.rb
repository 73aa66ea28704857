# Loaded (ruby -r) ahead of bosh-cli's erb_renderer.rb, which was written for create-env and
# knows no links. It gives that renderer's TemplateEvaluationContext what a director's
# evaluation context has (bosh's Bosh::Template::EvaluationContext): link, if_link and
# else_if_link, links with instances, properties, p and if_p. It also refuses what a release's
# own tests must catch: a template reading a property its job spec does not declare (a director
# would quietly hand it nil or the default given in the template).
#
# The module is prepended so that its methods win over the ones erb_renderer.rb defines after
# this file is loaded, and reach them with super.

class UndeclaredProperty < StandardError; end
class UnknownLink < StandardError; end

module DirectorEvaluationContext
  def initialize(spec)
    super
    @links = spec["links"] || {}
    @declared = spec["default_properties"].keys
  end

  def p(*args)
    check_declared(Array(args[0]))
    super
  end

  def if_p(*names, &block)
    check_declared(names)
    super
  end

  def link(name)
    link_spec = @links[name]
    raise UnknownLink, "Can't find link '#{name}'" if link_spec.nil?

    EvaluationLink.new(link_spec)
  end

  def if_link(name)
    link_spec = @links[name]
    return TemplateEvaluationContext::ActiveElseBlock.new(self) if link_spec.nil?

    yield EvaluationLink.new(link_spec)
    TemplateEvaluationContext::InactiveElseBlock.new
  end

  private

  # A name is declared when the spec declares it or a property below it ("tls" for "tls.cert").
  def check_declared(names)
    names.each do |name|
      next if @declared.any? { |d| d == name || d.start_with?("#{name}.") }

      raise UndeclaredProperty, "the template reads property '#{name}', which job #{@name}'s spec does not declare"
    end
  end
end

class EvaluationLinkInstance
  attr_reader :name, :index, :id, :az, :address, :bootstrap

  def initialize(spec)
    @name = spec["name"]
    @index = spec["index"]
    @id = spec["id"]
    @az = spec["az"]
    @address = spec["address"]
    @bootstrap = spec["bootstrap"]
  end
end

class EvaluationLink
  attr_reader :instances, :properties

  def initialize(spec)
    @instances = spec["instances"].map { |i| EvaluationLinkInstance.new(i) }
    @properties = spec["properties"] || {}
    @address = spec["address"]
  end

  # The group's address (a BOSH DNS query name) as a director with DNS addresses gives it.
  def address(_criteria = {})
    @address
  end

  def p(*args)
    names = Array(args[0])
    names.each do |name|
      result = dig(name)
      return result unless result.nil?
    end
    return args[1] if args.length == 2

    raise TemplateEvaluationContext::UnknownProperty.new(names)
  end

  def if_p(*names)
    values = names.map do |name|
      value = dig(name)
      return TemplateEvaluationContext::ActiveElseBlock.new(self) if value.nil?

      value
    end
    yield(*values)
    TemplateEvaluationContext::InactiveElseBlock.new
  end

  private

  def dig(name)
    name.split(".").reduce(@properties) { |node, key| node.is_a?(Hash) ? node[key] : nil }
  end
end

class TemplateEvaluationContext
  prepend DirectorEvaluationContext

  class ActiveElseBlock
    def else_if_link(name, &block)
      @context.if_link(name, &block)
    end
  end

  class InactiveElseBlock
    def else_if_link(_name)
      InactiveElseBlock.new
    end
  end
end
