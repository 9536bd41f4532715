using MLPipelines.Data;
using MLPipelines.Testing;

namespace MLPipelines.Tests.Data;

/// <summary>The tests' real-data lookup reads the same environment variable as the product.</summary>
public sealed class TestDataTests
{
    [Fact]
    public void TestData_reads_the_products_data_environment_variable()
    {
        Assert.Equal(DatasetLocator.EnvironmentVariable, TestData.DataEnvironmentVariable);
    }
}
